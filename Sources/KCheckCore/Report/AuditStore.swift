import KCheckNative

/// Where `kcheck audit` keeps its reports: a directory of timestamped reports
/// (kcheck-audit-TIME.json and .xml), `latest.json` and `latest.xml` pointing at the newest, the
/// last N kept, one audit at a time (a lock). The use-case of the audit's storage, in the library;
/// the CLI maps its options to it.
public final class AuditStore {
    public let directory: String
    private let files = SafeWriter(root: "/")
    private let lock: FileLock

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    private init(directory: String, lock: FileLock) {
        self.directory = directory
        self.lock = lock
    }

    /// Makes the directory if missing and takes its lock (another audit holding it: a failure).
    public static func open(_ directory: String) -> Result<AuditStore, Failure> {
        let files = SafeWriter(root: "/")
        if case .failure(let failure) = files.makeDirectory(directory, mode: 0o755) { return .failure(Failure(message: "\(failure)")) }
        switch FileLock.acquire(files, path: directory + "/.lock") {
        case .success(let lock): return .success(AuditStore(directory: directory, lock: lock))
        case .failure(let failure): return .failure(Failure(message: "\(failure)"))
        }
    }

    /// The previous audit's JSON, through latest.json: its path and text; nil for a first audit
    /// (no latest.json). A latest.json that is there but cannot be read (not a link, pointing at
    /// a FIFO, a directory, nothing) is a failure with the reason, never "first audit".
    public func previous() -> Result<(path: String, json: String)?, Failure> {
        switch files.entry(directory + "/latest.json") {
        case .success(.absent): return .success(nil)
        case .success(.symlink(let name)):
            switch files.entry(directory + "/" + name) {
            case .success(.file(let bytes, _, _, _)): return .success((directory + "/" + name, String(decoding: bytes, as: UTF8.self)))
            case .success(let other): return .failure(Failure(message: "\(directory)/latest.json points at \(name), which is \(Self.what(other))"))
            case .failure(let failure): return .failure(Failure(message: "\(directory)/latest.json points at \(name): \(failure.reason)"))
            }
        case .success(let other): return .failure(Failure(message: "\(directory)/latest.json is \(Self.what(other)), not kcheck's link to the newest report"))
        case .failure(let failure): return .failure(Failure(message: "\(directory)/latest.json: \(failure.reason)"))
        }
    }

    private static func what(_ entry: SafeWriter.Entry) -> String {
        switch entry {
        case .absent: "missing"
        case .directory: "a directory"
        case .symlink(let target): "a link to \(target)"
        case .file: "a file"
        }
    }

    /// kcheck-audit-YYYYMMDDTHHMMSSZ-mmm, from the audit's start.
    public static func stamp(_ startedAt: (seconds: Int64, nanoseconds: Int64)) -> String {
        let c = Posix.utcCalendar(startedAt.seconds)
        func pad(_ n: Int, _ w: Int = 2) -> String { String(repeating: "0", count: max(0, w - String(n).count)) + String(n) }
        return "kcheck-audit-\(pad(c.year, 4))\(pad(c.month))\(pad(c.day))T\(pad(c.hour))\(pad(c.minute))\(pad(c.second))Z-\(pad(Int(startedAt.nanoseconds / 1_000_000), 3))"
    }

    /// Saves one audit's reports, then points latest.* at them (a crash between leaves the
    /// previous latest intact), then removes all but the last `keep` audits. The stamp.
    public func save(json: String, junit: String, startedAt: (seconds: Int64, nanoseconds: Int64), keep: Int) -> Result<String, Failure> {
        let stamp = Self.stamp(startedAt)
        for (ext, text) in [("json", json), ("xml", junit)] {
            if case .failure(let failure) = files.writeFile(directory + "/" + stamp + "." + ext, Array(text.utf8), mode: 0o644) {
                return .failure(Failure(message: "cannot write the audit report in \(directory): \(failure.reason)"))
            }
        }
        for ext in ["json", "xml"] {
            if case .failure(let failure) = files.writeSymlink(directory + "/latest." + ext, target: stamp + "." + ext) {
                return .failure(Failure(message: "cannot point latest.\(ext) at the new report in \(directory): \(failure.reason)"))
            }
        }
        if case .success(let names) = Posix.listDirectory(directory) {
            let audits = names.filter { $0.hasPrefix("kcheck-audit-") && $0.hasSuffix(".json") }.sorted()
            for old in audits.dropLast(keep) {
                let base = String(old.dropLast(".json".count))
                _ = files.remove(directory + "/" + base + ".json")
                _ = files.remove(directory + "/" + base + ".xml")
            }
        }
        withExtendedLifetime(lock) {}
        return .success(stamp)
    }
}
