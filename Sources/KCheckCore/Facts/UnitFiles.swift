import KCheckNative

/// A unit's enablement, judged from unit files alone, as `systemctl is-enabled` would say it.
/// This needs no running systemd, so it is judged in containers and node trees too.
public enum UnitFileState: String, Sendable {
    case enabled, disabled, masked, `static`
    case notFound = "not-found"
}

/// Reads systemd's unit directories on a node.
final class UnitFiles {
    static let systemDirectories = [
        "/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
        "/usr/lib/systemd/system", "/lib/systemd/system",
    ]
    /// Where `systemctl enable` puts its symlinks.
    static let enableDirectories = ["/etc/systemd/system", "/run/systemd/system"]

    let node: Node
    private var listings: [String: [String]] = [:]

    /// The system directories of this node, without a merged-/usr duplicate.
    private let directories: [String]

    init(node: Node) {
        self.node = node
        self.directories = node.distinctDirectories(Self.systemDirectories)
    }

    private func listing(_ directory: String) -> [String] {
        if let cached = listings[directory] { return cached }
        let names = (try? node.list(directory).get()) ?? []
        listings[directory] = names
        return names
    }

    /// The unit file that defines `unit`, following aliases, with its [Install] names.
    private func definition(of unit: String) -> (path: String, aliases: [String], installable: Bool)? {
        install(of: unit).map { ($0.path, $0.aliases, !$0.wantedBy.isEmpty) }
    }

    /// The unit file that defines `unit`, its names, and the targets that `systemctl enable`
    /// links it into (WantedBy=, RequiredBy=, UpheldBy=, by the directory suffix each uses).
    func install(of unit: String) -> (path: String, aliases: [String], wantedBy: [(target: String, suffix: String)])? {
        for directory in directories where listing(directory).contains(unit) {
            let path = directory + "/" + unit
            var names = [unit]
            if case .success(let target) = node.readLink(path) {
                if target == "/dev/null" { return nil }
                let targetName = String(target.split(separator: "/").last ?? "")
                if !targetName.isEmpty && targetName != unit { names.append(targetName) }
            }
            guard case .content(let bytes) = node.read(path, limit: 1 << 20) else { return (path, names, []) }
            var wantedBy: [(String, String)] = []
            var inInstall = false
            for (_, line) in numberedLines(bytes) {
                let text = line.trimmed
                if text.hasPrefix("[") { inInstall = text == "[Install]"; continue }
                guard inInstall, let equals = text.firstIndex(of: "=") else { continue }
                let key = text[..<equals].trimmed
                let values = text[text.index(after: equals)...].fields.map(String.init)
                switch key {
                case "Alias": names.append(contentsOf: values)
                case "WantedBy": wantedBy += values.map { ($0, ".wants") }
                case "RequiredBy": wantedBy += values.map { ($0, ".requires") }
                case "UpheldBy": wantedBy += values.map { ($0, ".upholds") }
                default: continue
                }
            }
            return (path, names, wantedBy)
        }
        return nil
    }

    func isMasked(_ unit: String) -> Bool {
        for directory in Self.enableDirectories where listing(directory).contains(unit) {
            if case .success(let target) = node.readLink(directory + "/" + unit), target == "/dev/null" { return true }
        }
        return false
    }

    func state(of unit: String) -> UnitFileState {
        if isMasked(unit) { return .masked }
        guard let definition = definition(of: unit) else { return .notFound }
        let names = Set(definition.aliases)
        for directory in Self.enableDirectories {
            for entry in listing(directory) where entry.hasSuffix(".wants") || entry.hasSuffix(".requires") {
                if listing(directory + "/" + entry).contains(where: { names.contains($0) }) { return .enabled }
            }
        }
        return definition.installable ? .disabled : .static
    }
}
