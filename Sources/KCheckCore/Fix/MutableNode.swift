import KCheckNative

/// A unit's file and what enables it (its [Install] section), as `UnitFiles` reads them.
public typealias UnitInstall = (path: String, aliases: [String], wantedBy: [(target: String, suffix: String)])

/// The journal a change is recorded in before it is made; the `Remediator` provides it, and a
/// node calls it before it changes anything.
public protocol ChangeJournal {
    /// Records what is at a path (and every missing directory above it) before it changes.
    func remember(_ path: String) -> SafeWriter.Failure?
    func record(_ record: JournalRecord) -> SafeWriter.Failure?
    /// Writes a file, journaled, unless it already holds `content`.
    func write(_ path: String, _ content: [UInt8], mode: UInt32) -> ActionOutcome
}

/// A node kcheck changes. Every change `kcheck fix` and `kcheck undo` make to the running system
/// goes through these: the live node changes the kernel, systemd and the package database (argv,
/// never a shell); a node tree simulates each change in its own files (/proc/sys, /sys/module,
/// /proc/swaps, unit symlinks, `.kcheck/facts`, dpkg's status file) and lists the commands the live
/// node would run. The `Remediator` decides, journals and reports; it never asks which node it has.
public protocol MutableNode: Node {
    /// Writes under the node's root, never through a symlink.
    var writer: SafeWriter { get }
    /// Whether the changes reach a running system (what the plan can show before it runs).
    var changesRunningSystem: Bool { get }

    /// Runs a command (live) or lists it (tree); the reason when it failed.
    func run(_ argv: [String], _ commands: inout [[String]]) -> String?
    /// Sets a kernel interface file (/proc/sys/…, /sys/fs/selinux/enforce) to `bytes`.
    func setKernelFile(_ path: String, _ bytes: [UInt8], journal: ChangeJournal) -> ActionOutcome
    /// Puts a kernel interface file back (undo).
    func restoreKernelFile(_ path: String, _ bytes: [UInt8]) -> SafeWriter.Failure?
    func loadModule(_ name: String, journal: ChangeJournal, commands: inout [[String]]) -> ActionOutcome
    func swapOff(_ devices: [String], journal: ChangeJournal, commands: inout [[String]]) -> ActionOutcome
    /// Enables/disables and starts/stops a unit that is now `enabled` and `running` (nil: unknown).
    func setUnit(
        _ unit: String, enable: Bool?, start: Bool?, enabled: Bool, running: Bool?, install: UnitInstall?, journal: ChangeJournal,
        commands: inout [[String]]
    ) -> ActionOutcome
    /// The hardware clock in UTC; `adjtime` is /etc/adjtime's content that says so.
    func setRTCUTC(_ adjtime: [UInt8], journal: ChangeJournal, commands: inout [[String]]) -> ActionOutcome
    /// Sets a packet-filter chain's policy (journaled on the live node: undo sets the old one).
    func setChainPolicy(_ chain: FirewallChain, to policy: String, journal: ChangeJournal, commands: inout [[String]]) -> ActionOutcome
    /// Puts a chain's policy back (undo).
    func restoreChainPolicy(_ chain: FirewallChain, commands: inout [[String]]) -> String?
    /// The package database as the package manager sees it.
    func packageDatabase(_ manager: PackageManager) -> Result<PackageDatabase, PackageProblem>
    /// What installing `names` will unpack, each with its state now (apt-get -s); nil where it
    /// cannot be told (a tree, rpm).
    func simulateInstall(_ manager: PackageManager, _ names: [String], database: PackageDatabase) -> Result<[(String, PackagePrior)], PackageProblem>?
    /// Installs the missing packages (journaled before by the caller, which read `before`); the
    /// names added.
    func installPackages(
        _ manager: PackageManager, _ missing: [String], before: PackageDatabase, journal: ChangeJournal, commands: inout [[String]]
    ) -> (ActionOutcome, added: [String])
}

extension LiveNode: MutableNode {
    public var writer: SafeWriter { SafeWriter(root: "/") }
    public var changesRunningSystem: Bool { true }

    public func run(_ argv: [String], _ commands: inout [[String]]) -> String? {
        commands.append(argv)
        // apt-get and dpkg must never wait for an answer.
        switch Posix.run(argv, environment: argv.first == "apt-get" ? ["DEBIAN_FRONTEND=noninteractive"] : []) {
        case .failure(let error): return "\(argv.joined(separator: " ")): \(error)"
        case .success(let output) where output.status != 0: return "\(argv.joined(separator: " ")) exited with status \(output.status)"
        case .success: return nil
        }
    }

    public func setKernelFile(_ path: String, _ bytes: [UInt8], journal: ChangeJournal) -> ActionOutcome {
        guard case .content(let old) = read(path, limit: 64 << 10) else { return .failed("\(path) does not exist on this kernel") }
        if let failure = journal.record(.runtime(path, old)) { return .failed(failure.description) }
        return ActionOutcome(writer.writeInPlace(path, bytes))
    }

    public func restoreKernelFile(_ path: String, _ bytes: [UInt8]) -> SafeWriter.Failure? {
        if case .failure(let failure) = writer.writeInPlace(path, bytes) { return failure }
        return nil
    }

    public func loadModule(_ name: String, journal: ChangeJournal, commands: inout [[String]]) -> ActionOutcome {
        if let failure = journal.record(.moduleLoaded(name)) { return .failed(failure.description) }
        if let why = run(["modprobe", "--", name], &commands) { return .failed(why) }
        return .applied
    }

    public func swapOff(_ devices: [String], journal: ChangeJournal, commands: inout [[String]]) -> ActionOutcome {
        if let failure = journal.record(.swapDevices(devices)) { return .failed(failure.description) }
        for device in devices {
            if let why = run(["swapoff", "--", device], &commands) { return .failed(why) }
        }
        return .applied
    }

    public func setUnit(
        _ unit: String, enable: Bool?, start: Bool?, enabled: Bool, running: Bool?, install: UnitInstall?, journal: ChangeJournal,
        commands: inout [[String]]
    ) -> ActionOutcome {
        if let failure = journal.record(.service(unit: unit, enabled: enabled, running: running)) { return .failed(failure.description) }
        if let enable, let why = run(["systemctl", enable ? "enable" : "disable", "--", unit], &commands) { return .failed(why) }
        if let start {
            guard running != nil else { return .failed("systemd is not running: cannot \(start ? "start" : "stop") \(unit)") }
            if let why = run(["systemctl", start ? "start" : "stop", "--", unit], &commands) { return .failed(why) }
        }
        return .applied
    }

    /// The system's own tool, as argv: the chain's backend decides which (iptables-legacy, or
    /// CentOS 7's iptables, which is legacy; iptables-nft for a builtin chain of an ip table; nft).
    public func setChainPolicy(_ chain: FirewallChain, to policy: String, journal: ChangeJournal, commands: inout [[String]]) -> ActionOutcome {
        if let failure = journal.record(.chainPolicy(chain)) { return .failed(failure.description) }
        if let why = run(chain.policyCommand(policy, legacyTool: legacyIptables()), &commands) { return .failed(why) }
        return .applied
    }

    public func restoreChainPolicy(_ chain: FirewallChain, commands: inout [[String]]) -> String? {
        guard let policy = chain.policy else { return nil }
        return run(chain.policyCommand(policy, legacyTool: legacyIptables()), &commands)
    }

    /// iptables-legacy where the node has it (Debian, RHEL 8+); else iptables (CentOS 7's is legacy).
    func legacyIptables() -> String {
        for dir in ["/usr/sbin", "/sbin"] {
            if case .success = status(dir + "/iptables-legacy") { return "iptables-legacy" }
        }
        return "iptables"
    }

    public func setRTCUTC(_ adjtime: [UInt8], journal: ChangeJournal, commands: inout [[String]]) -> ActionOutcome {
        // hwclock writes the RTC from the system clock and /etc/adjtime's UTC line itself.
        if let failure = journal.remember("/etc/adjtime") ?? journal.record(.rtcWasLocal) { return .failed(failure.description) }
        if let why = run(["hwclock", "--systohc", "--utc"], &commands) { return .failed(why) }
        return .applied
    }

    public func packageDatabase(_ manager: PackageManager) -> Result<PackageDatabase, PackageProblem> {
        switch manager {
        case .apt: return PackageDatabase.dpkg(self)
        case .yum, .dnf: return PackageDatabase.rpm()
        }
    }

    public func simulateInstall(_ manager: PackageManager, _ names: [String], database: PackageDatabase) -> Result<[(String, PackagePrior)], PackageProblem>? {
        manager == .apt ? PackageDatabase.simulateApt(names, database: database) : nil
    }

    public func installPackages(
        _ manager: PackageManager, _ missing: [String], before: PackageDatabase, journal: ChangeJournal, commands: inout [[String]]
    ) -> (ActionOutcome, added: [String]) {
        if let why = run(manager.install(missing), &commands) {
            return (.failed(why + (manager == .apt ? " (run apt-get update if the package lists are old)" : "")), [])
        }
        guard case .success(let now) = packageDatabase(manager) else { return (.applied, missing) }
        return (.applied, now.installed.subtracting(before.installed).sorted())
    }
}

extension TreeNode: MutableNode {
    public var writer: SafeWriter { SafeWriter(root: root) }
    public var changesRunningSystem: Bool { false }

    /// A tree runs nothing: the command is listed as what the live node would run.
    public func run(_ argv: [String], _ commands: inout [[String]]) -> String? {
        commands.append(argv)
        return nil
    }

    public func setKernelFile(_ path: String, _ bytes: [UInt8], journal: ChangeJournal) -> ActionOutcome {
        journal.write(path, bytes, mode: 0o644)
    }

    /// The tree's kernel files were journaled as files, and are restored as files.
    public func restoreKernelFile(_ path: String, _ bytes: [UInt8]) -> SafeWriter.Failure? {
        if case .failure(let failure) = writer.writeInPlace(path, bytes) { return failure }
        return nil
    }

    public func loadModule(_ name: String, journal: ChangeJournal, commands: inout [[String]]) -> ActionOutcome {
        _ = run(["modprobe", "--", name], &commands)
        if let failure = journal.remember("/sys/module/\(name)") { return .failed(failure.description) }
        return ActionOutcome(writer.makeDirectory("/sys/module/\(name)"))
    }

    public func swapOff(_ devices: [String], journal: ChangeJournal, commands: inout [[String]]) -> ActionOutcome {
        for device in devices { _ = run(["swapoff", "--", device], &commands) }
        return journal.write("/proc/swaps", Array("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n".utf8), mode: 0o444)
    }

    /// Enablement is the unit's symlinks; the running state a line of the facts file.
    public func setUnit(
        _ unit: String, enable: Bool?, start: Bool?, enabled: Bool, running: Bool?, install: UnitInstall?, journal: ChangeJournal,
        commands: inout [[String]]
    ) -> ActionOutcome {
        if let enable {
            _ = run(["systemctl", enable ? "enable" : "disable", "--", unit], &commands)
            guard let install else { return .failed("\(unit) has no unit file") }
            if enable {
                guard !install.wantedBy.isEmpty else { return .failed("\(unit) has no [Install] section to enable it by") }
                for (target, suffix) in install.wantedBy {
                    let link = "/etc/systemd/system/\(target)\(suffix)/\(unit)"
                    if let failure = journal.remember(link) { return .failed(failure.description) }
                    if case .failure(let failure) = writer.writeSymlink(link, target: install.path) { return .failed(failure.description) }
                }
            } else {
                let names = Set(install.aliases)
                for directory in UnitFiles.enableDirectories {
                    guard case .success(let entries) = list(directory) else { continue }
                    for entry in entries where entry.hasSuffix(".wants") || entry.hasSuffix(".requires") || entry.hasSuffix(".upholds") {
                        guard case .success(let links) = list(directory + "/" + entry) else { continue }
                        for link in links where names.contains(link) {
                            let path = "\(directory)/\(entry)/\(link)"
                            if let failure = journal.remember(path) { return .failed(failure.description) }
                            if case .failure(let failure) = writer.remove(path) { return .failed(failure.description) }
                        }
                    }
                }
            }
        }
        if let start {
            _ = run(["systemctl", start ? "start" : "stop", "--", unit], &commands)
            let outcome = editFacts(journal) { lines in
                let line = "unit \(unit) \(start ? "active" : "inactive")"
                if let at = lines.firstIndex(where: { $0.fields.count >= 2 && $0.fields[0] == "unit" && $0.fields[1] == Substring(unit) }) {
                    lines[at] = line
                } else {
                    lines.append(line)
                }
            }
            if case .failed = outcome { return outcome }
        }
        return .applied
    }

    public func setRTCUTC(_ adjtime: [UInt8], journal: ChangeJournal, commands: inout [[String]]) -> ActionOutcome {
        _ = run(["hwclock", "--systohc", "--utc"], &commands)
        return journal.write("/etc/adjtime", adjtime, mode: 0o644)
    }

    public func packageDatabase(_ manager: PackageManager) -> Result<PackageDatabase, PackageProblem> {
        switch manager {
        case .apt: return PackageDatabase.dpkg(self)
        case .yum, .dnf:
            switch packageNames() {
            case .available(let names):
                return .success(PackageDatabase(packages: Dictionary(uniqueKeysWithValues: names.map {
                    ($0, InstalledPackage(name: $0, version: "", installed: true, configFiles: false, depends: [], provides: []))
                })))
            case .unavailable(let why): return .failure(PackageProblem(why))
            }
        }
    }

    public func simulateInstall(_ manager: PackageManager, _ names: [String], database: PackageDatabase) -> Result<[(String, PackagePrior)], PackageProblem>? {
        nil
    }

    /// dpkg's status file gains the packages' records, or the facts file their lines.
    public func installPackages(
        _ manager: PackageManager, _ missing: [String], before: PackageDatabase, journal: ChangeJournal, commands: inout [[String]]
    ) -> (ActionOutcome, added: [String]) {
        _ = run(manager.install(missing), &commands)
        let outcome: ActionOutcome
        switch writer.entry("/var/lib/dpkg/status") {
        case .success(.file(let bytes, _, _, _)):
            var status = bytes
            if let last = status.last, last != 0x0A { status.append(0x0A) }
            if !status.isEmpty && !status.suffix(2).elementsEqual([0x0A, 0x0A]) { status.append(0x0A) }
            for name in missing {
                status += Array("Package: \(name)\nStatus: install ok installed\nVersion: 0-kcheck-tree\n\n".utf8)
            }
            outcome = journal.write("/var/lib/dpkg/status", status, mode: 0o644)
        default:
            outcome = editFacts(journal) { lines in lines += missing.map { "package \($0)" } }
        }
        return (outcome, outcome == .applied ? missing : [])
    }

    /// The chain's line in the facts file, with the new policy (the facts file journaled: undo
    /// restores it byte for byte); the command the live node would run is listed.
    public func setChainPolicy(_ chain: FirewallChain, to policy: String, journal: ChangeJournal, commands: inout [[String]]) -> ActionOutcome {
        _ = run(chain.policyCommand(policy, legacyTool: "iptables-legacy"), &commands)
        let old = FactsFile.chainLine(chain)
        var changed = chain
        changed.policy = policy
        var found = false
        let outcome = editFacts(journal) { lines in
            for i in lines.indices where lines[i].split(separator: " ").map(String.init) == old.split(separator: " ").map(String.init) {
                lines[i] = FactsFile.chainLine(changed)
                found = true
            }
        }
        return found ? outcome : .failed("the tree's \(FactsFile.path) has no line for \(chain.label)")
    }

    public func restoreChainPolicy(_ chain: FirewallChain, commands: inout [[String]]) -> String? { nil }

    /// Rewrites the tree's facts file with `edit` applied to its lines (journaled).
    private func editFacts(_ journal: ChangeJournal, _ edit: (inout [String]) -> Void) -> ActionOutcome {
        guard case .success(.file(let old, _, _, _)) = writer.entry(FactsFile.path) else {
            return .failed("the tree has no \(FactsFile.path)")
        }
        var lines = splitLines(old)
        edit(&lines)
        return journal.write(FactsFile.path, Array((lines.joined(separator: "\n") + "\n").utf8), mode: 0o644)
    }
}

extension ActionOutcome {
    init(_ result: Result<Void, SafeWriter.Failure>) {
        switch result {
        case .success: self = .applied
        case .failure(let failure): self = .failed(failure.description)
        }
    }
}
