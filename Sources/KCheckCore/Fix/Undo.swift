import KCheckNative

/// What undoing a run does, step by step, in an order that respects what depends on what (not
/// merely newest first):
///
/// 1. services the run started or enabled are stopped and disabled, while their packages are
///    still there;
/// 2. the packages the run added are purged (exactly those; see `kept`);
/// 3. every file, link and directory is put back, newest first;
/// 4. kernel state: sysctl values, swap, loaded modules;
/// 5. services the run stopped or disabled are enabled and started again, in the restored
///    environment (firewalld after the iptables the run installed is gone, so that it does not
///    start with rules it cannot reverse at shutdown);
/// 6. the hardware clock is written in local time once /etc/localtime names the old zone again
///    (else the RTC would hold the new zone's time and the next boot would be hours off), and
///    /etc/adjtime, which hwclock rewrites, is put back byte for byte after it.
public struct UndoPlan: Sendable {
    public enum Step: Equatable, Sendable {
        case service(unit: String, enable: Bool?, start: Bool?)
        case removePackages(PackageManager, [String])
        case restore(String, SafeWriter.Entry)
        case runtime(String, [UInt8])
        case swapOn([String])
        case unloadModule(String)
        case rtcLocal
        /// Reload a unit so that it serves the restored files (sshd, its host keys).
        case reload(String)
        /// A packet-filter chain's policy as it was.
        case chainPolicy(FirewallChain)
    }

    public let steps: [Step]
    /// Packages the run added or changed that undo leaves alone, each with the reason.
    public let kept: [(name: String, reason: String)]

    /// One line per step, for people: what undo will do, in order.
    public func describe() -> [String] {
        var lines: [String] = steps.map { step in
            switch step {
            case .service(let unit, let enable, let start):
                [enable.map { $0 ? "enable \(unit)" : "disable \(unit)" }, start.map { $0 ? "start \(unit)" : "stop \(unit)" }]
                    .compactMap { $0 }.joined(separator: ", ")
            case .removePackages(let manager, let names):
                "purge the \(names.count) package\(names.count == 1 ? "" : "s") the run added: \(manager.remove(names).joined(separator: " "))"
            case .restore(let path, .absent): "remove \(path) (it did not exist)"
            case .restore(let path, .directory): "keep directory \(path)"
            case .restore(let path, .symlink(let target)): "link \(path) -> \(target) again"
            case .restore(let path, .file(let bytes, let mode, let uid, let gid)):
                "restore \(path) (\(bytes.count) bytes, mode 0\(String(mode, radix: 8)), owner \(uid):\(gid))"
            case .runtime(let path, let bytes): "write \(String(decoding: bytes, as: UTF8.self).trimmed) to \(path)"
            case .swapOn(let devices): "swapon \(devices.joined(separator: " "))"
            case .unloadModule(let name): "unload \(name) (modprobe -r)"
            case .rtcLocal: "write the hardware clock in local time again (hwclock --systohc --localtime), after /etc/localtime is restored"
            case .reload(let unit): "reload \(unit), which then serves the restored files"
            case .chainPolicy(let c): "set the policy of \(c.label) to \(c.policy ?? "-") again (\(c.policyCommand(c.policy ?? "drop").joined(separator: " ")))"
            }
        }
        for (name, reason) in kept { lines.append("leave package \(name) as it is: \(reason)") }
        return lines
    }
}

extension Remediator {
    /// The steps that put back what `journal` recorded, in dependency order.
    public func undoPlan(_ journal: Journal) -> UndoPlan {
        var stopping: [UndoPlan.Step] = [], starting: [UndoPlan.Step] = []
        var paths: [UndoPlan.Step] = [], kernel: [UndoPlan.Step] = [], clock: [UndoPlan.Step] = []
        var requested: [(PackageManager, [String])] = [], planned: [(PackageManager, [PlannedPackage])] = []
        var added: [(PackageManager, [String])] = []
        let units = UnitFiles(node: node)
        for record in journal.records.reversed() {
            switch record {
            case .path(let path, let entry): paths.append(.restore(path, entry))
            case .runtime(let path, let bytes): kernel.append(.runtime(path, bytes))
            case .moduleLoaded(let name): kernel.append(.unloadModule(name))
            case .swapDevices(let devices): kernel.append(.swapOn(devices))
            case .service(let unit, let enabled, let running):
                // A unit whose package the undo purges is gone: nothing to disable or stop.
                let gone = units.state(of: unit) == .notFound
                if !gone && (!enabled || running == false) {
                    stopping.append(.service(unit: unit, enable: enabled ? nil : false, start: running == false ? false : nil))
                }
                if enabled || running == true {
                    starting.append(.service(unit: unit, enable: enabled ? true : nil, start: running == true ? true : nil))
                }
            case .rtcWasLocal: clock.append(.rtcLocal)
            case .reloaded(let unit): starting.append(.reload(unit))
            case .chainPolicy(let chain): kernel.append(.chainPolicy(chain))
            case .packagesInstalled(let manager, let names): requested.append((manager, names))
            case .packagesPlanned(let manager, let list): planned.append((manager, list))
            case .packagesAdded(let manager, let names): added.append((manager, names))
            case .done: continue
            }
        }
        // hwclock rewrites /etc/adjtime: its recorded bytes go back after it.
        if !clock.isEmpty {
            clock += paths.filter { if case .restore("/etc/adjtime", _) = $0 { true } else { false } }
        }
        var kept: [(String, String)] = []
        var packages: [UndoPlan.Step] = []
        let managers = unique((requested.map(\.0) + planned.map(\.0) + added.map(\.0)).map(\.rawValue)).compactMap(PackageManager.init)
        for manager in managers {
            let priors = Dictionary(planned.filter { $0.0 == manager }.flatMap(\.1).map { ($0.name, $0.prior) }, uniquingKeysWith: { a, _ in a })
            // What the run added: measured after the installation; else (stopped mid-install)
            // what it was going to add; else what it asked for.
            var candidates: [String]
            if added.contains(where: { $0.0 == manager }) {
                candidates = added.filter { $0.0 == manager }.flatMap(\.1)
            } else if !priors.isEmpty {
                candidates = priors.filter { $0.value == .absent }.map(\.key).sorted()
            } else {
                candidates = requested.filter { $0.0 == manager }.flatMap(\.1)
            }
            for (name, prior) in priors.sorted(by: { $0.key < $1.key }) {
                switch prior {
                case .absent: continue
                case .configFiles:
                    kept.append((name, "it was removed with its configuration files kept (rc) before the run; which of those files the installation replaced cannot be told, so it stays installed"))
                case .version(let old):
                    kept.append((name, "the run upgraded it from \(old); the old version cannot be reinstalled offline"))
                }
                candidates.removeAll { $0 == name }
            }
            guard case .success(let now) = node.packageDatabase(manager) else {
                packages.append(.removePackages(manager, candidates))
                continue
            }
            let present = Set(candidates).intersection(now.installed)
            let needed = now.neededElsewhere(present)
            for name in present.sorted() where needed[name] != nil { kept.append((name, needed[name]!)) }
            let purge = present.subtracting(needed.keys).sorted()
            if !purge.isEmpty { packages.append(.removePackages(manager, purge)) }
        }
        return UndoPlan(steps: stopping + packages + paths + kernel + starting + clock, kept: kept)
    }

    /// What undoing one run did.
    public struct UndoOutcome: Sendable {
        public let run: String
        public let plan: UndoPlan
        public let failures: [String]
    }

    /// Undoes runs in the order given (as `UndoSelection.select` orders them), each planned again
    /// right before it runs (the runs undone before it changed the node) and marked undone when
    /// every step succeeded. Stops at the first run that could not be wholly restored.
    public func undo(runs journals: [Journal]) -> [UndoOutcome] {
        var outcomes: [UndoOutcome] = []
        for journal in journals {
            let plan = undoPlan(journal)
            // Everything that can be restored is; a missing saved copy is said, and keeps the run
            // from being marked undone.
            let failures = undo(plan) + journal.missing
            outcomes.append(UndoOutcome(run: journal.id, plan: plan, failures: failures))
            guard failures.isEmpty else { break }
            Journal.markUndone(journal)
        }
        return outcomes
    }

    /// Carries out an undo plan. Every step runs even when one fails; the failures are returned.
    public func undo(_ plan: UndoPlan) -> [String] {
        var failures: [String] = []
        var commands: [[String]] = []
        for step in plan.steps {
            switch step {
            case .restore(let path, let entry):
                let result: Swift.Result<Void, SafeWriter.Failure>
                switch entry {
                case .absent:
                    switch writer.entry(path) {
                    case .success(.absent): continue
                    case .success(.directory): result = writer.remove(path, directory: true)
                    default: result = writer.remove(path)
                    }
                case .directory(let mode): result = writer.makeDirectory(path, mode: mode)
                case .symlink(let target):
                    if case .success(.symlink(target)) = writer.entry(path) { continue }
                    result = writer.writeSymlink(path, target: target)
                case .file(let bytes, let mode, let uid, let gid):
                    if case .success(.file(bytes, mode, uid, gid)) = writer.entry(path) { continue }
                    result = writer.restoreFile(path, bytes, mode: mode, owner: (uid, gid))
                }
                if case .failure(let failure) = result { failures.append(failure.description) }
            case .runtime(let path, let bytes):
                if let failure = node.restoreKernelFile(path, bytes) { failures.append(failure.description) }
            case .unloadModule(let name):
                if let why = run(["modprobe", "-r", "--", name], &commands) { failures.append(why) }
            case .swapOn(let devices):
                for device in devices { if let why = run(["swapon", "--", device], &commands) { failures.append(why) } }
            case .service(let unit, let enable, let start):
                if let enable, let why = run(["systemctl", enable ? "enable" : "disable", "--", unit], &commands) { failures.append(why) }
                if let start, let why = run(["systemctl", start ? "start" : "stop", "--", unit], &commands) { failures.append(why) }
            case .removePackages(let manager, let names):
                if let why = run(manager.remove(names), &commands) { failures.append(why) }
            case .rtcLocal:
                if let why = run(["hwclock", "--systohc", "--localtime"], &commands) { failures.append(why) }
            case .chainPolicy(let chain):
                if let why = node.restoreChainPolicy(chain, commands: &commands) { failures.append(why) }
            case .reload(let unit):
                if let why = reloadAndWait(unit, &commands) { failures.append(why) }
            }
        }
        return failures
    }
}

/// Which runs an undo takes, and in what order: a run that later runs built on (they changed
/// something it changed too) is undone only after them, newest first, and only when asked to;
/// otherwise undo refuses and names them. After any sequence of undos, every file is what it was
/// before the earliest run undone.
public enum UndoSelection {
    public struct Refusal: Error, Sendable {
        public let run: String
        public let laterRuns: [String]

        public var message: String {
            "run \(run) cannot be undone alone: later run\(laterRuns.count == 1 ? "" : "s") \(laterRuns.joined(separator: ", ")) changed what it changed too; undo \(laterRuns.count == 1 ? "it" : "them") first, or pass --with-later to undo \(laterRuns.count == 1 ? "it" : "them") and then \(run)"
        }
    }

    /// What a run touched: paths, kernel files, modules, units, packages, the hardware clock.
    static func touched(_ journal: Journal) -> Set<String> {
        var keys: Set<String> = []
        for record in journal.records {
            switch record {
            case .path(let path, _), .runtime(let path, _): keys.insert("path " + path)
            case .moduleLoaded(let name): keys.insert("module " + name)
            case .swapDevices: keys.insert("swap")
            case .service(let unit, _, _): keys.insert("unit " + unit)
            case .rtcWasLocal: keys.insert("rtc")
            case .reloaded(let unit): keys.insert("unit " + unit)
            case .chainPolicy(let c): keys.insert("chain \(c.backend.rawValue) \(c.family) \(c.table) \(c.name)")
            case .packagesInstalled(_, let names), .packagesAdded(_, let names): for n in names { keys.insert("package " + n) }
            case .packagesPlanned(_, let list): for p in list { keys.insert("package " + p.name) }
            case .done: continue
            }
        }
        return keys
    }

    /// The journals to undo, in order, for `id` (nil: the newest run not undone). `runs` is the
    /// node's runs oldest first, as `Journal.runs` lists them.
    public static func select(
        _ id: String?, runs: [(id: String, undone: Bool)], withLater: Bool, load: (String) -> Result<Journal, SafeWriter.Failure>
    ) -> Result<[Journal], SelectionError> {
        guard let id = id ?? runs.last(where: { !$0.undone })?.id else { return .success([]) }
        guard let at = runs.firstIndex(where: { $0.id == id }) else {
            if case .failure(let f) = load(id) { return .failure(.unreadable(f)) }
            return .failure(.unreadable(SafeWriter.Failure(path: Journal.directory + "/" + id, reason: "no such run")))
        }
        let target: Journal
        switch load(id) {
        case .success(let j): target = j
        case .failure(let f): return .failure(.unreadable(f))
        }
        // Later runs, not undone, that touched what this run touched, directly or through a run
        // in between that did.
        var chain: [Journal] = []
        var reach = touched(target)
        for later in runs[(at + 1)...] where !later.undone {
            let journal: Journal
            switch load(later.id) {
            case .success(let j): journal = j
            case .failure(let f): return .failure(.unreadable(f))
            }
            let keys = touched(journal)
            if !keys.isDisjoint(with: reach) {
                chain.append(journal)
                reach.formUnion(keys)
            }
        }
        if !chain.isEmpty && !withLater { return .failure(.builtOn(Refusal(run: id, laterRuns: chain.map(\.id)))) }
        return .success(chain.reversed() + [target])
    }

    public enum SelectionError: Error, Sendable {
        case unreadable(SafeWriter.Failure)
        case builtOn(Refusal)
    }
}
