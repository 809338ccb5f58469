import KCheckNative

/// A node reached with the system's OpenSSH client, so that ~/.ssh/config (or `-F FILE`), keys,
/// agents and jump hosts work as the operator set them. Every connection is non-interactive
/// (BatchMode) with a connect timeout, and one master connection per node is reused
/// (ControlMaster/ControlPersist). The host is validated and passed as argv, never through a local
/// shell; on the node the remote command is a constant launcher that runs kcheck itself (`launcher`).
public struct SSHTarget: Sendable {
    public let host: String
    public let configFile: String?
    /// Where the control sockets live (a directory of this run's, mode 0700).
    public let controlDirectory: String
    public var connectTimeout = 10

    /// `host`, `user@host`, `host:port` is not accepted (use an ssh config Host entry): letters,
    /// digits, `.`, `-`, `_`, `:` (IPv6), one `@`; never starting with `-`.
    public static func validate(_ host: String) -> String? {
        guard !host.isEmpty, host.count <= 253 else { return "an empty or overlong host" }
        guard !host.hasPrefix("-") else { return "`\(host)` begins with '-' (it would be read as an option)" }
        let allowed = host.unicodeScalars.allSatisfy { s in
            (s.value >= 0x30 && s.value <= 0x39) || (s.value >= 0x41 && s.value <= 0x5A) || (s.value >= 0x61 && s.value <= 0x7A)
                || s == "." || s == "-" || s == "_" || s == ":" || s == "@"
        }
        guard allowed, host.filter({ $0 == "@" }).count <= 1, !host.hasSuffix("@"), !host.hasPrefix("@") else {
            return "`\(host)` is not a host name or address (letters, digits, . - _ : and one @ only)"
        }
        return nil
    }

    public init(host: String, configFile: String?, controlDirectory: String) {
        self.host = host
        self.configFile = configFile
        self.controlDirectory = controlDirectory
    }

    func argv(_ remote: [String]) -> [String] {
        var argv = ["ssh"]
        if let configFile { argv += ["-F", configFile] }
        argv += [
            "-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=\(connectTimeout)", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3",
            "-o", "ControlMaster=auto",
            "-o", "ControlPath=\(controlDirectory)/%C", "-o", "ControlPersist=30", "-o", "LogLevel=ERROR",
            "--", host,
        ]
        return argv + remote
    }

    /// Closes the master connection, if one is open.
    public func close() {
        _ = Posix.run(argv([]).filter { $0 != "--" && $0 != host } + ["-O", "exit", "--", host], input: [], timeoutSeconds: 10)
    }

    /// Single-quoted for the node's shell (ssh hands the remote command to it as one string).
    static func quoted(_ text: String) -> String { "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'" }

    /// Runs the cached kcheck on the node if it is there and its SHA-256 is the expected one;
    /// else says so (85), or that the node is of another architecture (86). Constant text: its
    /// only arguments are the hash and the architecture, both made by kcheck.
    /// The file is opened once (fd 3) and both hashed and run through that descriptor, so what
    /// runs is what was hashed even if the name is replaced between; the directory must be this
    /// user's and writable by nobody else (88 otherwise).
    static let launcher = """
        h=$1 a=$2 d=${KCHECK_CACHE_DIR:-/var/lib/kcheck/bin}
        m=$(uname -m)
        if [ "$m" != "$a" ]; then echo "kcheck-arch $m"; exit 86; fi
        f=$d/kcheck-$h
        if [ -f "$f" ] && exec 3< "$f"; then
          if [ ! -O "$d" ] || [ -n "$(find "$d" -maxdepth 0 -perm /022)" ]; then echo kcheck-unsafe; exit 88; fi
          if [ "$(sha256sum < /proc/self/fd/3 | cut -c1-64)" = "$h" ]; then exec /proc/self/fd/3 remote; fi
        fi
        echo kcheck-missing; exit 85
        """

    /// Unpacks kcheck (gzip on standard input) into the node's cache, mode 0700, checks its hash
    /// before it takes its name, and removes the other versions there.
    static let installer = """
        set -eu
        h=$1 d=${KCHECK_CACHE_DIR:-/var/lib/kcheck/bin}
        umask 077
        mkdir -p "$d"
        if [ ! -O "$d" ] || [ -n "$(find "$d" -maxdepth 0 -perm /022)" ]; then echo kcheck-unsafe; exit 88; fi
        find "$d" -maxdepth 1 -name '.kcheck-*' -mmin +30 -exec rm -f {} + 2>/dev/null || true
        t=$(mktemp "$d/.kcheck-XXXXXX")
        trap 'rm -f "$t"' EXIT
        trap 'rm -f "$t"; exit 1' HUP INT TERM
        gzip -dc > "$t"
        if [ "$(sha256sum < "$t" | cut -c1-64)" != "$h" ]; then echo kcheck-corrupt; exit 87; fi
        chmod 0700 "$t"
        mv -f "$t" "$d/kcheck-$h"
        trap - EXIT
        for o in "$d"/kcheck-*; do [ "$o" = "$d/kcheck-$h" ] || rm -f "$o"; done
        echo kcheck-installed
        """

    /// One answer of the node, with its clock's offset from this machine's.
    public struct Call: Sendable {
        public let answer: RemoteAnswer
        /// The node's clock minus this machine's, and half the round trip as its uncertainty.
        public let clockOffset: (seconds: Double, uncertainty: Double)?
        /// Whether kcheck had to be copied to the node first.
        public let installed: Bool
    }

    /// Runs kcheck on the node with this request: the cached copy when its hash matches, else
    /// kcheck is copied there first (once), then run.
    public func kcheck(_ request: RemoteRequest, binary: RemoteBinary, timeoutSeconds: Int = 600) -> Result<Call, Recording.Problem> {
        let input = request.encoded()
        var installed = false
        for attempt in 0..<2 {
            let before = Posix.wallClock()
            let ran = Posix.run(argv(["sh", "-c", Self.quoted(Self.launcher), "kcheck", binary.hash, binary.architecture]), input: input, timeoutSeconds: timeoutSeconds)
            let after = Posix.wallClock()
            let result: ProcessResult
            switch ran {
            case .failure(let error): return .failure(Recording.Problem("cannot run ssh: \(error)"))
            case .success(let r): result = r
            }
            if result.timedOut { return .failure(Recording.Problem("no answer from \(host) within \(timeoutSeconds) s")) }
            let said = Self.lastLine(result.standardError)
            switch result.status {
            case 255: return .failure(Recording.Problem("ssh \(host): \(said ?? "connection failed")"))
            case 85 where attempt == 0:
                if case .failure(let problem) = install(binary) { return .failure(problem) }
                installed = true
                continue
            case 88:
                return .failure(Recording.Problem("\(host): kcheck's cache on the node (/var/lib/kcheck/bin) is not owned by the login user or is writable by others: refusing to run from it"))
            case 86:
                let machine = Frames.printable(result.standardOutput.split(separator: 10).first?.dropFirst("kcheck-arch ".count).prefix(40) ?? [])
                return .failure(Recording.Problem("\(host) is a \(machine) machine; this kcheck is built for \(binary.architecture): run a kcheck built for \(machine) there"))
            default: break
            }
            do throws(Recording.Problem) {
                let answer = try RemoteAnswer.decode(result.standardOutput)
                let t0 = Double(before.seconds) + Double(before.nanoseconds) / 1e9, t1 = Double(after.seconds) + Double(after.nanoseconds) / 1e9
                let offset = answer.clock.map { (Double($0.seconds) + Double($0.nanoseconds) / 1e9 - (t0 + t1) / 2, (t1 - t0) / 2) }
                return .success(Call(answer: answer, clockOffset: offset, installed: installed))
            } catch {
                return .failure(Recording.Problem("\(host): \(error.message)\(said.map { " (\($0))" } ?? "")"))
            }
        }
        return .failure(Recording.Problem("\(host): kcheck was copied, but its cache did not keep it"))
    }

    /// Copies kcheck (compressed once on this machine) into the node's cache.
    func install(_ binary: RemoteBinary) -> Result<Void, Recording.Problem> {
        let compressed: [UInt8]
        switch Posix.readFile(binary.compressedPath, limit: 512 << 20) {
        case .success(let bytes): compressed = bytes
        case .failure(let error): return .failure(Recording.Problem("cannot read \(binary.compressedPath): \(error)"))
        }
        switch Posix.run(argv(["sh", "-c", Self.quoted(Self.installer), "kcheck", binary.hash]), input: compressed, timeoutSeconds: 600) {
        case .failure(let error): return .failure(Recording.Problem("cannot run ssh: \(error)"))
        case .success(let result):
            let said = Self.lastLine(result.standardError)
            if result.status == 255 { return .failure(Recording.Problem("ssh \(host): \(said ?? "connection failed")")) }
            guard result.status == 0, String(decoding: result.standardOutput, as: UTF8.self).contains("kcheck-installed") else {
                let why = result.status == 87 ? "what arrived does not have the expected SHA-256"
                    : result.status == 88 ? "the cache directory is not owned by the login user or is writable by others" : said ?? "exit status \(result.status)"
                return .failure(Recording.Problem("\(host): cannot copy kcheck to the node's cache: \(why)"))
            }
            return .success(())
        }
    }

    /// ssh's last line on standard error, printable.
    static func lastLine(_ bytes: [UInt8]) -> String? {
        bytes.split(whereSeparator: { $0 == 10 || $0 == 13 }).last.map { Frames.printable($0) }
    }
}

/// kcheck as it is copied to nodes: this executable, stripped (when `strip` is there) and
/// compressed with gzip once, cached on this machine by the executable's identity (device,
/// inode, size, modification time), so later runs pay nothing; its SHA-256 names it on nodes.
public struct RemoteBinary: Sendable {
    public let hash: String
    public let compressedPath: String
    public let architecture: String

    public static var thisArchitecture: String {
        #if arch(x86_64)
            "x86_64"
        #elseif arch(arm64)
            "aarch64"
        #else
            "unknown"
        #endif
    }

    /// The cached copy in `cache` (made, mode 0700, if missing), prepared now if not there yet.
    public static func prepare(cache: String) -> Result<RemoteBinary, Recording.Problem> {
        let executable: String
        switch Posix.readLink("/proc/self/exe") {
        case .success(let path): executable = path
        case .failure(let error): return .failure(Recording.Problem("cannot find this executable: \(error)"))
        }
        guard case .success(let st) = Posix.stat(executable) else { return .failure(Recording.Problem("cannot stat \(executable)")) }
        // Its parents too (~/.cache may not exist yet), each mode 0700 when made.
        var prefix = ""
        for component in cache.split(separator: "/") {
            prefix += "/" + component
            if case .failure(let error) = Posix.makeDirectory(prefix, mode: 0o700) {
                return .failure(Recording.Problem("cannot make \(prefix): \(error)"))
            }
        }
        // What is copied to every node as root comes from here: the directory must be this user's
        // and writable by nobody else, or it is not used.
        guard case .success(let dir) = Posix.lstat(cache), dir.kind == .directory, dir.uid == Posix.effectiveUID(), dir.mode & 0o022 == 0 else {
            return .failure(Recording.Problem("\(cache) is not a directory of this user's that only it can write: kcheck will not copy to nodes from it"))
        }
        let key = "\(cache)/kcheck-\(st.size)-\(st.modifiedSeconds)"
        func owned(_ path: String) -> Bool {
            guard case .success(let f) = Posix.lstat(path) else { return false }
            return f.kind == .regular && f.uid == Posix.effectiveUID() && f.mode & 0o022 == 0
        }
        if owned(key + ".sha256"), owned(key + ".gz"), case .success(let text) = Posix.readFile(key + ".sha256", limit: 128) {
            let hash = String(decoding: text, as: UTF8.self).trimmed
            if hash.utf8.count == 64 { return .success(RemoteBinary(hash: String(hash), compressedPath: key + ".gz", architecture: thisArchitecture)) }
        }
        let stripped = key + ".stripped"
        defer { Posix.removeTree(stripped) }
        var source = executable
        if case .success(let r) = Posix.run(["strip", "-o", stripped, "--", executable], input: [], timeoutSeconds: 120), r.status == 0 { source = stripped }
        let bytes: [UInt8]
        switch Posix.readFile(source, limit: 1 << 30, followSymlinks: true) {
        case .success(let b): bytes = b
        case .failure(let error): return .failure(Recording.Problem("cannot read \(source): \(error)"))
        }
        guard let hash = try? OpenSSL.sha256Hex(bytes) else { return .failure(Recording.Problem("SHA-256 failed")) }
        switch Posix.run(["gzip", "-1", "-c", "--", source], input: [], limit: 1 << 30, timeoutSeconds: 300) {
        case .failure(let error): return .failure(Recording.Problem("cannot run gzip: \(error)"))
        case .success(let r):
            guard r.status == 0 else { return .failure(Recording.Problem("gzip exited with status \(r.status)")) }
            if case .failure(let error) = Posix.writeFileAtomically(key + ".gz", r.standardOutput, mode: 0o600) {
                return .failure(Recording.Problem("cannot write \(key).gz: \(error)"))
            }
        }
        if case .failure(let error) = Posix.writeFileAtomically(key + ".sha256", Array((hash + "\n").utf8), mode: 0o600) {
            return .failure(Recording.Problem("cannot write \(key).sha256: \(error)"))
        }
        return .success(RemoteBinary(hash: hash, compressedPath: key + ".gz", architecture: thisArchitecture))
    }
}
