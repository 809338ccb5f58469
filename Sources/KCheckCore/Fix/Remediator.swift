import KCheckNative

/// Applies a plan to a node, journaling what was there before each change, and undoes a run from
/// its journal. It decides (already in place?), journals and reports; every change to the running
/// system goes through the node (`MutableNode`): the live node changes the kernel, systemd and the
/// packages, a node tree simulates them in its files. There is one Remediator for both.
public final class Remediator: ChangeJournal {
    public let writer: SafeWriter
    public let live: Bool
    let node: MutableNode
    /// The journal of the run being applied.
    private var journal: Journal?
    /// Called at every point a fault-injection test may stop the process: before and after each
    /// journal record.
    public var faultPoint: (() -> Void)?

    /// What one action did.
    public struct Result: Sendable {
        public let planned: PlannedAction
        public let outcome: ActionOutcome
        /// old → new, for runtime changes.
        public let change: String?
        /// Commands run (live) or that the live node would run (tree).
        public let commands: [[String]]

        /// The action as reports show it.
        public var record: Report.ActionRecord {
            let (name, reason): (String, String?) =
                switch outcome {
                case .applied: ("applied", nil)
                case .alreadyInPlace: ("already-in-place", nil)
                case .failed(let why): ("failed", why)
                case .needsReboot: ("needs-reboot", nil)
                }
            return Report.ActionRecord(
                summary: planned.action.summary, rules: planned.rules, outcome: name, reason: reason, change: change, commands: commands)
        }
    }

    public init(node: MutableNode) {
        self.node = node
        self.writer = node.writer
        self.live = node.changesRunningSystem
    }

    // MARK: - Reading the state an action changes

    /// What a change to a file would be: the old content (nil when absent) and the new.
    public func fileChange(_ action: Action) -> (path: String, old: [UInt8]?, new: [UInt8])? {
        let path: String, content: [UInt8]
        switch action {
        case .writeFile(let p, let c, _): (path, content) = (p, c)
        case .rtcUTC(let adjtime):
            // On the live node hwclock writes /etc/adjtime itself, its first two lines too (the
            // drift factor and the time of this adjustment): no exact diff can be shown.
            guard !live else { return nil }
            (path, content) = ("/etc/adjtime", adjtime)
        case .makeDirectory, .symlink, .sysctl, .loadModule, .swapOff, .selinuxPermissive, .service, .installPackages, .makeCA, .newMachineID, .newSSHHostKeys, .chainPolicy: return nil
        }
        if case .success(.file(let bytes, _, _, _)) = writer.entry(path) { return (path, bytes, content) }
        return (path, nil, content)
    }

    /// The runtime value an action changes, "old → new", for the plan.
    public func runtimeChange(_ action: Action) -> String? {
        switch action {
        case .sysctl(let key, let value):
            let old: String
            switch node.read(SysctlConfig.procPath(key), limit: 64 << 10) {
            case .content(let b): old = String(String(decoding: b, as: UTF8.self).fields.joined(separator: " "))
            case .missing: old = "absent"
            case .unreadable: old = "unreadable"
            }
            return "\(key): \(old) → \(value)"
        case .selinuxPermissive: return "SELinux: enforcing → permissive"
        case .swapOff: return "swap: \(swapDevices().joined(separator: ", ")) → off"
        case .loadModule(let name): return "\(name): not loaded → loaded"
        case .service(let unit, let enable, let start):
            var parts: [String] = []
            if let enable { parts.append(enable ? "disabled → enabled" : "enabled → disabled") }
            if let start { parts.append(start ? "stopped → running" : "running → stopped") }
            return "\(unit): " + parts.joined(separator: ", ")
        case .rtcUTC: return "hardware clock: local time → UTC"
        case .makeCA: return nil
        case .chainPolicy(let chain, let policy): return "\(chain.label): \(chain.policy ?? "-") → \(policy)"
        case .newMachineID(let old): return "machine-id: \(old.prefix(8))… → a new random id"
        case .newSSHHostKeys(let keys, _): return keys.map { "\($0.path): \($0.replacing) → a new key" }.joined(separator: "; ")
        case .installPackages(_, let names): return "packages: \(names.joined(separator: " ")) missing → installed"
        case .writeFile, .makeDirectory, .symlink: return nil
        }
    }

    /// On the live node, what an installation will unpack besides the packages it names, as
    /// `apt-get -s` tells (dependencies, upgrades, packages in rc state), for the plan.
    public func packagePreview(_ action: Action) -> String? {
        guard case .installPackages(let manager, let names) = action,
            case .success(let db) = node.packageDatabase(manager),
            case .success(let planned)? = node.simulateInstall(manager, names.filter { !db.installed.contains($0) }, database: db)
        else { return nil }
        let extra = planned.filter { !names.contains($0.0) }
        guard !extra.isEmpty else { return nil }
        let described = extra.map { name, prior in
            switch prior {
            case .absent: name
            case .configFiles: name + " (now rc: undo will leave it installed)"
            case .version(let v): name + " (upgraded from \(v): undo will leave it upgraded)"
            }
        }
        return "and \(extra.count) more package\(extra.count == 1 ? "" : "s") it needs: " + described.joined(separator: " ")
    }

    func swapDevices() -> [String] {
        guard case .content(let bytes) = node.read("/proc/swaps", limit: 1 << 20) else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").dropFirst().compactMap { $0.fields.first.map(String.init) }
    }

    // MARK: - Applying

    /// Applies every action in order, each journaled before it changes anything. An action that
    /// fails is reported and the others still run.
    public func apply(_ plan: Plan, journal: Journal) -> [Result] {
        self.journal = journal
        defer { self.journal = nil }
        return plan.actions.enumerated().map { index, planned in
            var commands: [[String]] = []
            let change = runtimeChange(planned.action)
            var outcome = apply(planned.action, journal: journal, commands: &commands)
            if outcome == .applied && planned.needsReboot { outcome = .needsReboot }
            faultPoint?()
            _ = journal.record(.done(index + 1, outcome.label))
            var shown = change
            switch outcome {
            case .alreadyInPlace, .failed: shown = nil
            case .applied, .needsReboot: break
            }
            return Result(planned: planned, outcome: outcome, change: shown, commands: commands)
        }
    }

    // MARK: ChangeJournal (what a node calls before it changes anything)

    public func remember(_ path: String) -> SafeWriter.Failure? {
        guard let journal else { return SafeWriter.Failure(path: path, reason: "no run is being applied") }
        return remember(path, journal)
    }

    public func record(_ record: JournalRecord) -> SafeWriter.Failure? {
        guard let journal else { return SafeWriter.Failure(path: Journal.directory, reason: "no run is being applied") }
        return self.record(record, journal)
    }

    public func write(_ path: String, _ content: [UInt8], mode: UInt32) -> ActionOutcome {
        guard let journal else { return .failed("no run is being applied") }
        return write(path, content, mode: mode, journal)
    }

    /// Records what is at `path` (and every missing directory above it) before it changes.
    private func remember(_ path: String, _ journal: Journal) -> SafeWriter.Failure? {
        var missing: [String] = []
        var parent = path
        while let slash = parent.lastIndex(of: "/"), slash != parent.startIndex {
            parent = String(parent[..<slash])
            guard case .success(.absent) = writer.entry(parent) else { break }
            missing.insert(parent, at: 0)
        }
        for directory in missing {
            if let failure = record(.path(directory, .absent), journal) { return failure }
        }
        switch writer.entry(path) {
        case .success(let entry): return record(.path(path, entry), journal)
        case .failure(let failure): return failure
        }
    }

    private func record(_ record: JournalRecord, _ journal: Journal) -> SafeWriter.Failure? {
        faultPoint?()
        if case .failure(let failure) = journal.record(record) { return failure }
        faultPoint?()
        return nil
    }

    private func outcome(_ result: Swift.Result<Void, SafeWriter.Failure>) -> ActionOutcome { ActionOutcome(result) }

    /// Writes a file (journaled) unless it already holds `content`.
    private func write(_ path: String, _ content: [UInt8], mode: UInt32, _ journal: Journal) -> ActionOutcome {
        switch writer.entry(path) {
        case .success(.file(let bytes, _, _, _)) where bytes == content: return .alreadyInPlace
        case .failure(let failure): return .failed(failure.description)
        default: break
        }
        if let failure = remember(path, journal) { return .failed(failure.description) }
        return outcome(writer.writeFile(path, content, mode: mode))
    }

    /// Runs a command on the live node (argv, no shell); a tree only lists it.
    func run(_ argv: [String], _ commands: inout [[String]]) -> String? { node.run(argv, &commands) }

    private func apply(_ action: Action, journal: Journal, commands: inout [[String]]) -> ActionOutcome {
        switch action {
        case .writeFile(let path, let content, let mode):
            return write(path, content, mode: mode, journal)

        case .makeDirectory(let path, let mode):
            switch writer.entry(path) {
            case .success(.directory): return .alreadyInPlace
            case .failure(let failure): return .failed(failure.description)
            default: break
            }
            if let failure = remember(path, journal) { return .failed(failure.description) }
            return outcome(writer.makeDirectory(path, mode: mode))

        case .symlink(let path, let target):
            if case .success(.symlink(target)) = writer.entry(path) { return .alreadyInPlace }
            if let failure = remember(path, journal) { return .failed(failure.description) }
            return outcome(writer.writeSymlink(path, target: target))

        case .sysctl(let key, let value):
            let path = SysctlConfig.procPath(key)
            let check = SysctlCheck(key: key, value: value)
            if case .content(let bytes) = node.read(path, limit: 64 << 10), check.accepts(String(decoding: bytes, as: UTF8.self)) {
                return .alreadyInPlace
            }
            return node.setKernelFile(path, Array((value + "\n").utf8), journal: self)

        case .loadModule(let name):
            if case .success(.directory) = writer.entry("/sys/module/\(name)") { return .alreadyInPlace }
            return node.loadModule(name, journal: self, commands: &commands)

        case .swapOff:
            let devices = swapDevices()
            if devices.isEmpty { return .alreadyInPlace }
            return node.swapOff(devices, journal: self, commands: &commands)

        case .selinuxPermissive:
            let path = "/sys/fs/selinux/enforce"
            guard case .content(let old) = node.read(path, limit: 64) else { return .alreadyInPlace }
            if old.first == 0x30 { return .alreadyInPlace }
            // What `setenforce 0` does: the kernel's file, written.
            return node.setKernelFile(path, Array("0".utf8), journal: self)

        case .service(let unit, let enable, let start):
            return service(unit, enable: enable, start: start, journal: journal, commands: &commands)

        case .installPackages(let manager, let names):
            return installPackages(manager, names, journal: journal, commands: &commands)

        case .rtcUTC(let adjtime):
            if case .success(.file(adjtime, _, _, _)) = writer.entry("/etc/adjtime") { return .alreadyInPlace }
            return node.setRTCUTC(adjtime, journal: self, commands: &commands)

        case .newMachineID(let old):
            return newMachineID(replacing: old, journal: journal)

        case .chainPolicy(let seen, let policy):
            // The chain as the kernel (or the tree) holds it now: gone, or already so, is done.
            guard case .available(let chains) = node.firewallChains() else { return .failed("the packet filter cannot be read") }
            guard let now = chains.first(where: { $0.backend == seen.backend && $0.family == seen.family && $0.table == seen.table && $0.name == seen.name }),
                now.policy != policy
            else { return .alreadyInPlace }
            return node.setChainPolicy(now, to: policy, journal: self, commands: &commands)

        case .newSSHHostKeys(let keys, let reload):
            return newSSHHostKeys(keys, reload: reload, journal: journal, commands: &commands)

        case .makeCA(let certificate, let key, let subject, let hours):
            // Never replace a CA: the certificate must be absent now, not only when planned; the
            // key too, unless a kcheck run made it and was cut short before the certificate (the
            // plan says so): then the certificate is made for that key.
            guard case .success(.absent) = writer.entry(certificate) else { return .failed("\(certificate) exists: a CA is never replaced") }
            var existingKey: [UInt8]?
            switch writer.entry(key) {
            case .success(.absent): break
            case .success(.file(let bytes, _, _, _)) where Journal.runThatMadeKey(key, certificate: certificate, node: node) != nil: existingKey = bytes
            default: return .failed("\(key) exists: a CA is never replaced")
            }
            let made: CertificateAuthority.Made
            do throws(OpenSSLError) {
                made = try CertificateAuthority.make(subject: subject, validSeconds: Int64(hours) * 3600, existingKeyPEM: existingKey)
            } catch {
                return .failed(error.description)
            }
            if existingKey == nil {
                if let failure = remember(key, journal) { return .failed(failure.description) }
            }
            if let failure = remember(certificate, journal) { return .failed(failure.description) }
            // The key first, root's alone; the certificate, which names it, last.
            if existingKey == nil, case .failure(let failure) = writer.writeFile(key, made.keyPEM, mode: 0o600, owner: (0, 0)) {
                return .failed(failure.description)
            }
            return outcome(writer.writeFile(certificate, made.certificatePEM, mode: 0o644, owner: (0, 0)))
        }
    }

    /// A new machine-id, while /etc/machine-id still holds the copied one. dbus keeps its own
    /// copy in /var/lib/dbus/machine-id (a file on CentOS 7 and Debian 12, sometimes a link): a
    /// file holding the old id is written too.
    private func newMachineID(replacing old: String, journal: Journal) -> ActionOutcome {
        let path = "/etc/machine-id", dbus = "/var/lib/dbus/machine-id"
        switch writer.entry(path) {
        case .success(.file(let bytes, _, _, _)):
            guard String(decoding: bytes, as: UTF8.self).trimmed == old else { return .alreadyInPlace }
        case .success: return .failed("\(path) is not a regular file")
        case .failure(let failure): return .failed(failure.description)
        }
        let id: String
        do throws(OpenSSLError) { id = try SSHHostKey.machineID() } catch { return .failed(error.description) }
        let content = Array((id + "\n").utf8)
        let outcome = write(path, content, mode: 0o444, journal)
        guard outcome == .applied else { return outcome }
        if case .success(.file(let bytes, _, _, _)) = writer.entry(dbus), String(decoding: bytes, as: UTF8.self).trimmed == old {
            return write(dbus, content, mode: 0o444, journal)
        }
        return outcome
    }

    /// New host keys for those that still are the copies; the daemon reloads once, after all of
    /// them are written (journaled: undo reloads it again after putting the old keys back).
    private func newSSHHostKeys(_ keys: [SSHHostKeyRenewal], reload: String?, journal: Journal, commands: inout [[String]]) -> ActionOutcome {
        var wrote = false
        for key in keys {
            let publicPath = key.path + ".pub"
            guard case .success(.file(let line, _, _, _)) = writer.entry(publicPath) else { return .failed("\(publicPath) is not a readable file") }
            guard IdentityFact.sshKeyValue(fileName: publicPath, line: String(decoding: line, as: UTF8.self)) == key.replacing else { continue }
            // The new key keeps the old one's mode and owner (CentOS 7: 0640 root:ssh_keys); a
            // missing one is made root's alone.
            let comment = String(String(decoding: line, as: UTF8.self).trimmed.split(separator: " ", maxSplits: 2).dropFirst(2).first ?? "root@kcheck")
            let made: SSHHostKey.Made
            do throws(OpenSSLError) { made = try SSHHostKey.make(key.type, comment: comment) } catch { return .failed(error.description) }
            if let failure = remember(key.path, journal) ?? remember(publicPath, journal) { return .failed(failure.description) }
            // The private key first: a public key that names a key not yet written is never left.
            if case .failure(let failure) = writer.writeFile(key.path, made.privateKey, mode: 0o600) { return .failed(failure.description) }
            if case .failure(let failure) = writer.writeFile(publicPath, made.publicLine, mode: 0o644) { return .failed(failure.description) }
            wrote = true
        }
        guard wrote else { return .alreadyInPlace }
        guard let reload else { return .applied }
        if let failure = record(.reloaded(reload), journal) { return .failed(failure.description) }
        if let problem = reloadAndWait(reload, &commands) { return .failed(problem) }
        return .applied
    }

    /// `systemctl try-reload-or-restart UNIT`, then, on the live node, waiting (at most 10 s) until
    /// every TCP socket that listened before listens again: sshd re-executes itself on a reload,
    /// and for a moment it listens nowhere; the next connection (kcheck collecting the node
    /// again) would find it unreachable. After a fix and after its undo alike.
    func reloadAndWait(_ unit: String, _ commands: inout [[String]]) -> String? {
        let listening = listeners()
        if let problem = run(["systemctl", "try-reload-or-restart", "--", unit], &commands) { return problem }
        if live {
            for _ in 0..<100 where !listening.isSubset(of: listeners()) { Posix.pause(milliseconds: 100) }
        }
        return nil
    }

    /// The node's listening TCP sockets ("address:port"), as /proc/net/tcp and tcp6 list them.
    func listeners() -> Set<String> {
        var out: Set<String> = []
        for (path, ipv6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
            guard case .content(let bytes) = node.read(path, limit: 32 << 20), let sockets = try? ProcNetTCP.listening(bytes, ipv6: ipv6) else { continue }
            for socket in sockets { out.insert(socket.endpoint) }
        }
        return out
    }

    private func installPackages(_ manager: PackageManager, _ names: [String], journal: Journal, commands: inout [[String]]) -> ActionOutcome {
        let before: PackageDatabase
        switch node.packageDatabase(manager) {
        case .success(let db): before = db
        case .failure(let why): return .failed("the installed packages cannot be read: \(why)")
        }
        let missing = names.filter { !before.installed.contains($0) }
        if missing.isEmpty { return .alreadyInPlace }
        // What the installation will unpack, dependencies included, and each one's state now:
        // recorded before anything is installed.
        var planned = missing.map { PlannedPackage(name: $0, prior: before.prior($0)) }
        switch node.simulateInstall(manager, missing, database: before) {
        case .success(let simulated)? where !simulated.isEmpty: planned = simulated.map { PlannedPackage(name: $0.0, prior: $0.1) }
        case .success?, nil: break
        case .failure(let why)?: return .failed(why.description + " (run apt-get update if the package lists are old)")
        }
        if let failure = record(.packagesInstalled(manager, missing), journal) ?? record(.packagesPlanned(manager, planned), journal) {
            return .failed(failure.description)
        }
        let (outcome, added) = node.installPackages(manager, missing, before: before, journal: self, commands: &commands)
        if outcome == .applied { _ = record(.packagesAdded(manager, added), journal) }
        return outcome
    }

    private func service(_ unit: String, enable: Bool?, start: Bool?, journal: Journal, commands: inout [[String]]) -> ActionOutcome {
        // Read now, not when the run began: an earlier action may have installed the unit (and
        // the package's own scripts enabled and started it).
        let facts = NodeFacts(node: node, wantedUnits: [])
        if facts.unitFiles.state(of: unit) == .notFound && live { return .failed("\(unit) is not installed") }
        let enabledNow = facts.unitFiles.state(of: unit) == .enabled
        var runningNow: Bool?
        if case .available(let state) = facts.activeState(of: unit) { runningNow = state == "active" || state == "activating" || state == "reloading" }
        let doEnable = enable.flatMap { $0 == enabledNow ? nil : $0 }
        let doStart = start.flatMap { $0 == runningNow ? nil : $0 }
        if doEnable == nil && doStart == nil { return .alreadyInPlace }
        return node.setUnit(
            unit, enable: doEnable, start: doStart, enabled: enabledNow, running: runningNow, install: facts.unitFiles.install(of: unit), journal: self,
            commands: &commands)
    }
}
