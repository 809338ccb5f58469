/// What turns swap on at boot besides /etc/fstab's lines (which `fstab_no_swap` judges):
/// systemd swap units, zram, and the services that make swap.
public enum SwapSource: Equatable, Sendable {
    /// A .swap unit started at boot: an administrator's, or one a generator made (systemd's
    /// gpt-auto generator makes one for a GPT swap partition). `path` is its unit file.
    case unit(name: String, path: String, wantedBy: String)
    /// zram-generator's configuration asks for a zram swap device.
    case zramGenerator(config: String, device: String)
    /// A service that makes swap (zram-tools' zramswap, Raspberry Pi OS's dphys-swapfile) is enabled.
    case service(String)

    public var description: String {
        switch self {
        case .unit(let name, let path, let wantedBy): "\(name) (\(path), wanted by \(wantedBy))"
        case .zramGenerator(let config, let device): "\(device) from \(config) (zram-generator)"
        case .service(let name): "\(name), enabled"
        }
    }

    /// Services known to make swap at boot.
    static let services = ["zramswap.service", "dphys-swapfile.service"]
    /// zram-generator's configuration files, later ones overridden by an earlier one of the same name.
    static let zramConfigs = ["/etc/systemd/zram-generator.conf", "/run/systemd/zram-generator.conf", "/usr/local/lib/systemd/zram-generator.conf", "/usr/lib/systemd/zram-generator.conf"]
}

extension NodeFacts {
    /// Every source of swap at boot that is not an /etc/fstab line, in a stable order.
    func swapSources() -> [SwapSource] {
        var sources: [SwapSource] = []
        // Units wanted at boot: links in *.wants/*.requires of the unit directories and of the
        // generators' directories. Those the fstab generator made from /etc/fstab are the fstab
        // rule's; a masked one (/etc or /run) does not start.
        let directories = ["/etc/systemd/system", "/run/systemd/system", "/run/systemd/generator", "/run/systemd/generator.late"]
            + node.distinctDirectories(["/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"])
        var seen: Set<String> = []
        for directory in directories {
            guard case .success(let entries) = node.list(directory) else { continue }
            for entry in entries where entry.hasSuffix(".wants") || entry.hasSuffix(".requires") {
                guard case .success(let units) = node.list(directory + "/" + entry) else { continue }
                for unit in units where unit.hasSuffix(".swap") && !seen.contains(unit) {
                    seen.insert(unit)
                    if unitFiles.isMasked(unit) { continue }
                    guard let path = swapUnitFile(unit, directories: directories) else { continue }
                    if fromFstab(path) { continue }
                    sources.append(.unit(name: unit, path: path, wantedBy: String(entry.dropLast(entry.hasSuffix(".wants") ? 6 : 9))))
                }
            }
        }
        // zram-generator: the first configuration file of a name wins; a [zramN] section makes swap
        // (unless it sets zram-size = 0 or a mount point).
        if case .success = node.status("/usr/lib/systemd/system-generators/zram-generator") {
            for config in SwapSource.zramConfigs {
                guard case .content(let bytes) = node.read(config, limit: 1 << 20) else { continue }
                var section: String?
                var makesSwap: [String: Bool] = [:]
                var order: [String] = []
                for (_, line) in numberedLines(bytes) {
                    let text = line.trimmed
                    if text.hasPrefix("[") && text.hasSuffix("]") {
                        let name = String(text.dropFirst().dropLast())
                        section = name.hasPrefix("zram") ? name : nil
                        if let section, makesSwap[section] == nil { makesSwap[section] = true; order.append(section) }
                    } else if let section, let equals = text.firstIndex(of: "=") {
                        let key = text[..<equals].trimmed, value = text[text.index(after: equals)...].trimmed
                        if (key == "zram-size" && value == "0") || key == "mount-point" { makesSwap[section] = false }
                    }
                }
                sources += order.filter { makesSwap[$0] == true }.map { .zramGenerator(config: config, device: $0) }
                break  // the first file found is the one zram-generator reads
            }
        }
        for service in SwapSource.services where unitFiles.state(of: service) == .enabled { sources.append(.service(service)) }
        return sources
    }

    /// Where a swap unit is defined: the first unit directory (in systemd's order) holding it.
    private func swapUnitFile(_ unit: String, directories: [String]) -> String? {
        for directory in directories {
            if case .success = node.status(directory + "/" + unit) { return directory + "/" + unit }
        }
        return nil
    }

    /// Whether the fstab generator made this unit (SourcePath=/etc/fstab).
    private func fromFstab(_ path: String) -> Bool {
        guard case .content(let bytes) = node.read(path, limit: SystemdUnit.readLimit) else { return false }
        return SystemdUnit.parse(bytes, path: path).assignments.contains { $0.key == "SourcePath" && $0.value == "/etc/fstab" }
    }
}

extension Evaluator {
    func swapSources() -> Outcome {
        let expected = "nothing turns swap on at boot (swap units, zram, swap services)"
        let sources = facts.swapSources()
        if sources.isEmpty { return Outcome(status: .pass, expected: expected, actual: "none", message: "", observation: .swapSources([])) }
        let list = sources.map(\.description).joined(separator: "; ")
        return Outcome(
            status: .fail, expected: expected, actual: list,
            message: "Swap comes back at boot through \(list): kubelet then refuses to start. Mask the units (systemctl mask NAME.swap), disable the services and empty zram-generator's configuration (kcheck fix does all three).",
            observation: .swapSources(sources))
    }
}
