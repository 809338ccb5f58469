/// The operator's inventory: environment.sh (DOCUMENTED-STATE item 30), parsed, never executed.
public struct Inventory: Sendable {
    /// Where it was read from (a local path for --env, or the node's path).
    public let path: String
    public let shell: ShellFile

    public static let nodePath = "/opt/k8s/bin/environment.sh"

    public init(path: String, shell: ShellFile) {
        self.path = path
        self.shell = shell
    }

    /// Parses environment.sh text; a syntax error names path:line:col.
    public static func parse(_ bytes: [UInt8], path: String) throws(SourceError) -> Inventory {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SourceError(file: path, line: 1, column: 1, message: "not UTF-8 text")
        }
        do throws(SyntaxError) {
            return Inventory(path: path, shell: try ShellFile.parse(text))
        } catch {
            throw error.located(in: path)
        }
    }

    public subscript(name: String) -> ShellAssignment? { shell[name] }

    /// The node's own environment.sh, when it exists and parses.
    public static func load(from node: Node) -> Inventory? {
        guard case .content(let bytes) = node.read(nodePath, limit: defaultReadLimit) else { return nil }
        return try? parse(bytes, path: nodePath)
    }

    public var nodeIPs: [String] { shell["NODE_IPS"]?.value.items ?? [] }
    public var nodeNames: [String] { shell["NODE_NAMES"]?.value.items ?? [] }
    public var iface: String? { shell["IFACE"]?.value.scalar }

    /// The name for an address, pairing NODE_IPS and NODE_NAMES by index.
    public func name(for address: String) -> String? {
        guard let index = nodeIPs.firstIndex(of: address), index < nodeNames.count else { return nil }
        return nodeNames[index]
    }

    public func location(_ name: String) -> SourceLocation? {
        shell[name].map { SourceLocation(file: path, line: $0.line) }
    }
}

