import KCheckNative

/// A node reached with the system's OpenSSH client, so that ~/.ssh/config (or `-F FILE`), keys,
/// agents and jump hosts work as the operator set them. Every connection is non-interactive
/// (BatchMode) with a connect timeout, and one master connection per node is reused
/// (ControlMaster/ControlPersist). The host is validated and passed as argv, never through a local
/// shell; the remote command is the constant `sh -s`, fed the script kcheck generated.
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
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=\(connectTimeout)", "-o", "ControlMaster=auto",
            "-o", "ControlPath=\(controlDirectory)/%C", "-o", "ControlPersist=30", "-o", "LogLevel=ERROR",
            "--", host,
        ]
        return argv + remote
    }

    /// Runs kcheck's own script on the node with `sh -s`; the reason when it could not.
    public func run(script: String, timeoutSeconds: Int = 300) -> Result<ProcessResult, Snapshot.Problem> {
        switch Posix.run(argv(["sh", "-s"]), input: Array(script.utf8), timeoutSeconds: timeoutSeconds) {
        case .failure(let error): return .failure(Snapshot.Problem("cannot run ssh: \(error)"))
        case .success(let result):
            if result.timedOut { return .failure(Snapshot.Problem("no answer from \(host) within \(timeoutSeconds) s")) }
            if result.status == 255 {
                let said = String(decoding: result.standardError, as: UTF8.self).split(separator: "\n").last.map(String.init)
                return .failure(Snapshot.Problem("ssh \(host): \(said ?? "connection failed")"))
            }
            return .success(result)
        }
    }

    /// Closes the master connection, if one is open.
    public func close() {
        _ = Posix.run(argv([]).filter { $0 != "--" && $0 != host } + ["-O", "exit", "--", host], input: [], timeoutSeconds: 10)
    }

    /// The node's clock minus this machine's, with half the round trip as its uncertainty, read
    /// over the (already open) connection.
    public func measureClock() -> (seconds: Double, uncertainty: Double)? {
        let before = Posix.wallClock()
        guard case .success(let result) = run(script: "date +%s.%N\n", timeoutSeconds: 30), result.status == 0,
            let remote = Double(String(decoding: result.standardOutput, as: UTF8.self).trimmed)
        else { return nil }
        let after = Posix.wallClock()
        let t0 = Double(before.seconds) + Double(before.nanoseconds) / 1e9, t1 = Double(after.seconds) + Double(after.nanoseconds) / 1e9
        return (remote - (t0 + t1) / 2, (t1 - t0) / 2)
    }

    /// The script that tries, from a node, root's key login to each address (no password, no new
    /// host keys). Under KCHECK_ROOT (a node tree) ssh reads the tree's root/.ssh/config.
    public static func rootSSHScript(_ addresses: [String]) -> String {
        """
        R=${KCHECK_ROOT:-}
        set -- -o BatchMode=yes -o ConnectTimeout=5 -o StrictHostKeyChecking=yes -o PasswordAuthentication=no
        if [ -n "$R" ] && [ -f "$R/root/.ssh/config" ]; then set -- -F "$R/root/.ssh/config" "$@"; fi
        for ip in \(addresses.map(SnapshotScript.quoted).joined(separator: " ")); do
          if out=$(ssh "$@" -- "root@$ip" true </dev/null 2>&1); then echo "ok $ip"; else echo "fail $ip $(printf '%s\n' "$out" | tail -n 1)"; fi
        done

        """
    }

    /// Parses what `rootSSHScript` printed.
    public static func parseRootSSH(_ output: [UInt8]) -> [(address: String, result: String)] {
        String(decoding: output, as: UTF8.self).split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", maxSplits: 2).map(String.init)
            guard fields.count >= 2 else { return nil }
            return (fields[1], fields[0] == "ok" ? "ok" : (fields.count > 2 ? fields[2] : "failed"))
        }
    }

    /// Gathers the node's snapshot into `directory` (an empty directory).
    public func snapshot(profile: Profile, into directory: String) -> Result<Void, Snapshot.Problem> {
        switch run(script: SnapshotScript.render(profile: profile)) {
        case .failure(let problem): return .failure(problem)
        case .success(let result):
            do throws(Snapshot.Problem) {
                try Snapshot.unpack(result.standardOutput, into: directory)
                return .success(())
            } catch {
                let said = String(decoding: result.standardError, as: UTF8.self).split(separator: "\n").last.map { " (\($0))" } ?? ""
                return .failure(Snapshot.Problem("\(host): \(error.message)\(said)"))
            }
        }
    }
}
