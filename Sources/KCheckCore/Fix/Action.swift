import KCheckNative

/// One change `kcheck fix` makes to a node. A closed set: describing, applying and undoing are
/// exhaustive switches, so a new kind of change does not compile until each of them handles it.
/// Actions carry data only; they never hold a shell string.
public enum Action: Equatable, Sendable {
    /// Replace a file's content, or create it (mode for a new file; an existing one keeps its own).
    case writeFile(path: String, content: [UInt8], mode: UInt32)
    /// Make a directory (and its missing parents).
    case makeDirectory(path: String, mode: UInt32)
    /// Make `path` a symlink to `target` (/etc/localtime).
    case symlink(path: String, target: String)
    /// Set a kernel parameter now: write its /proc/sys file.
    case sysctl(key: String, value: String)
    /// Load a kernel module now.
    case loadModule(String)
    /// Turn off the active swap devices.
    case swapOff
    /// SELinux permissive now, as `setenforce 0` does: write 0 to /sys/fs/selinux/enforce.
    case selinuxPermissive
    /// A systemd unit: enable or disable it, start or stop it (nil: leave as it is).
    case service(unit: String, enable: Bool?, start: Bool?)
    /// The hardware clock keeps UTC: `/etc/adjtime` says so and, on the live node, the RTC is
    /// written from the system clock in UTC (else it would be read as UTC while holding local time).
    case rtcUTC(adjtime: [UInt8])
    /// Install packages with the distribution's package manager.
    case installPackages(PackageManager, [String])
    /// Make the cluster's root CA (key and self-signed certificate) where neither file exists.
    case makeCA(certificate: String, key: String, subject: [NameAttribute], validHours: Int)
    /// A machine-id of the node's own (a cloned machine has another node's): a new random one in
    /// /etc/machine-id (and dbus' own copy where it is a file), only while the file still holds
    /// `replacing`. Full effect after a reboot (journald, DHCP client ids read it at start).
    case newMachineID(replacing: String)
    /// SSH host keys of the node's own where it has another node's copies: new keys of the same
    /// types, made in-process, each only while its public key still is the copy; then the SSH
    /// daemon's unit (`reload`) is reloaded so that it serves them.
    case newSSHHostKeys([SSHHostKeyRenewal], reload: String?)
    /// A packet-filter chain's policy now (item 6: FORWARD accepts), while the chain still has
    /// the policy it was seen with.
    case chainPolicy(FirewallChain, policy: String)

    /// What the action does, for the plan.
    public var summary: String {
        switch self {
        case .writeFile(let path, _, _): "write \(path)"
        case .makeDirectory(let path, let mode): "make directory \(path) (mode 0\(String(mode, radix: 8)))"
        case .symlink(let path, let target): "link \(path) -> \(target)"
        case .sysctl(let key, let value): "set \(key) = \(value) now (\(SysctlConfig.procPath(key)))"
        case .loadModule(let name): "load kernel module \(name) now (modprobe \(name))"
        case .swapOff: "turn off active swap (swapoff)"
        case .selinuxPermissive: "set SELinux permissive now (setenforce 0)"
        case .rtcUTC: "keep the hardware clock in UTC (/etc/adjtime, hwclock --systohc --utc)"
        case .makeCA(let certificate, let key, let subject, let hours):
            "make the root CA \(certificate) and \(key) (RSA 2048, \(CertificateJudge.subjectText(subject)), \(hours)h), as cfssl gencert -initca does"
        case .chainPolicy(let chain, let policy): "set the policy of \(chain.label) to \(policy) now (\(chain.policyCommand(policy).joined(separator: " ")))"
        case .newMachineID: "give this node a new /etc/machine-id (it has another node's)"
        case .newSSHHostKeys(let keys, let reload):
            "make new SSH host keys \(keys.map(\.path).joined(separator: ", ")) (this node has another node's)"
                + (reload.map { ", then reload \($0)" } ?? "")
        case .installPackages(let manager, let names): "install \(names.joined(separator: " ")) (\(manager.install(names).joined(separator: " ")))"
        case .service(let unit, let enable, let start):
            [enable.map { $0 ? "enable \(unit)" : "disable \(unit)" }, start.map { $0 ? "start \(unit)" : "stop \(unit)" }]
                .compactMap { $0 }.joined(separator: ", ")
        }
    }
}

/// A host key to make anew: the private key's path, its type, and the value (as the cluster
/// rule compares it) it must still have for the key to be replaced.
public struct SSHHostKeyRenewal: Equatable, Sendable {
    public let path: String
    public let type: SSHHostKey.KeyType
    public let replacing: String

    public init(path: String, type: SSHHostKey.KeyType, replacing: String) {
        self.path = path
        self.type = type
        self.replacing = replacing
    }
}

/// The package managers kcheck drives, always as argv and never through a shell.
public enum PackageManager: String, Equatable, Sendable {
    case yum, dnf, apt

    public func install(_ names: [String]) -> [String] {
        switch self {
        case .yum: ["yum", "install", "-y", "--"] + names
        case .dnf: ["dnf", "install", "-y", "--"] + names
        case .apt: ["apt-get", "install", "-y", "--"] + names
        }
    }

    /// The install command as a person types it (advice), without the `--` kcheck passes.
    public func installText(_ names: [String]) -> String { install(names).filter { $0 != "--" }.joined(separator: " ") }

    /// Removes exactly these packages, configuration files too, and nothing else: dpkg and rpm
    /// refuse (rather than remove more) when another package still needs one of them.
    public func remove(_ names: [String]) -> [String] {
        switch self {
        case .yum, .dnf: ["rpm", "-e", "--"] + names
        case .apt: ["dpkg", "--purge", "--"] + names
        }
    }
}

/// An action with the rules it serves and what the node needs besides it.
public struct PlannedAction: Equatable, Sendable {
    public let action: Action
    /// The ids of the rules this action serves.
    public let rules: [String]
    /// Why it is done this way (which file wins and why, what the guide gets wrong).
    public let note: String?
    /// Takes full effect only after a reboot.
    public let needsReboot: Bool
    /// A `writeFile` that only appends this line to a file holding others (root's .bashrc):
    /// written out for other tools as "append the line unless it is there", never as the whole
    /// file, whose other lines may hold secrets.
    public let appendedLine: String?

    public init(_ action: Action, rules: [String], note: String? = nil, needsReboot: Bool = false, appendedLine: String? = nil) {
        self.action = action
        self.rules = rules
        self.note = note
        self.needsReboot = needsReboot
        self.appendedLine = appendedLine
    }
}

/// What `kcheck fix` will do: typed actions in order, and what stays for a person to do.
public struct Plan: Sendable {
    public let actions: [PlannedAction]
    /// Failing rules without an automated remediation, with what to do by hand.
    public let manual: [(rule: String, instructions: String)]

    public var isEmpty: Bool { actions.isEmpty }
}

/// How an applied action ended.
public enum ActionOutcome: Equatable, Sendable {
    case applied
    /// The node already was as the action would make it: nothing was written.
    case alreadyInPlace
    case failed(String)
    /// Applied; full effect after a reboot.
    case needsReboot

    public var label: String {
        switch self {
        case .applied: "applied"
        case .alreadyInPlace: "already in place"
        case .failed(let why): "failed: \(why)"
        case .needsReboot: "applied, needs reboot"
        }
    }
}
