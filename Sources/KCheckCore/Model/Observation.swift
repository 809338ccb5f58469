/// What a check saw, typed, beside the words of its result: reports carry it as is, so a reader
/// (the VM test bed, a dashboard) never parses `actual`.
public enum Observation: Equatable, Sendable {
    case sysctl(SysctlObservation)
    case service(ServiceObservation)
    /// The packet-filter chains the rule judged, as the kernel holds them.
    case firewall([FirewallChain])
    /// A cluster rule's identity fact that nodes share: each value, where it was read, and the
    /// nodes holding it (the first is the one the others copied, in inventory order).
    case sharedIdentity(SharedIdentity)
    /// What turns swap on at boot besides /etc/fstab (what `kcheck fix` masks or disables).
    case swapSources([SwapSource])
    /// Kernel modules a rule needs (for the kernel running now, or the one that will boot) and
    /// those of them not loaded (now) or not loaded at boot.
    case modules(ModulesObservation)
}

public struct ModulesObservation: Equatable, Sendable {
    public let when: KernelModuleCheck.When
    public let needed: [String]
    public let missing: [String]

    public init(when: KernelModuleCheck.When, needed: [String], missing: [String]) {
        self.when = when
        self.needed = needed
        self.missing = missing
    }
}

public struct SharedIdentity: Equatable, Sendable {
    public struct Copy: Equatable, Sendable {
        public let value: String
        public let path: String
        public let holders: [String]

        public init(value: String, path: String, holders: [String]) {
            self.value = value
            self.path = path
            self.holders = holders
        }
    }

    public let fact: IdentityFact
    public let copies: [Copy]

    public init(fact: IdentityFact, copies: [Copy]) {
        self.fact = fact
        self.copies = copies
    }
}

/// A systemd unit: its unit file's state (enabled, disabled, static, masked, not-found) and,
/// when the rule asks whether it runs, systemd's ActiveState (nil: not asked, or systemd could
/// not say).
public struct ServiceObservation: Equatable, Sendable {
    public let unit: String
    public let unitFile: UnitFileState
    public let active: String?

    public init(unit: String, unitFile: UnitFileState, active: String?) {
        self.unit = unit
        self.unitFile = unitFile
        self.active = active
    }

    public var running: Bool? { active.map { $0 == "active" || $0 == "activating" || $0 == "reloading" } }
}

/// A kernel parameter: its running value and the value a reboot will leave.
public struct SysctlObservation: Equatable, Sendable {
    public let key: String
    /// The value the rule wants (as the rule writes it).
    public let wanted: String
    /// The running value (/proc/sys), as the kernel prints it; nil when the key does not exist.
    public let running: String?
    /// The value after the next boot, as systemd-sysctl (or, without systemd, `sysctl --system`)
    /// will leave it.
    public let afterReboot: AfterReboot
    /// What `sysctl --system` would leave in force if run now, where that differs from the boot.
    public let applyNow: SysctlAssignment?

    public init(key: String, wanted: String, running: String?, afterReboot: AfterReboot, applyNow: SysctlAssignment?) {
        self.key = key
        self.wanted = wanted
        self.running = running
        self.afterReboot = afterReboot
        self.applyNow = applyNow
    }

    /// The guide's file for the kernel parameters.
    public static let guideFile = "/etc/sysctl.d/kubernetes.conf"

    /// Where the value that holds at boot is set wrongly in the guide's file or in a file read
    /// after it (sorting after kubernetes.conf, or /etc/sysctl.conf): that line must change, for
    /// writing kubernetes.conf would not decide the value.
    public var wrongLineToChange: SourceLocation? {
        guard case .set(let value, let location) = afterReboot, !SysctlCheck(key: key, value: wanted).accepts(value) else { return nil }
        let name = location.file.split(separator: "/").last.map(String.init) ?? location.file
        return location.file == Self.guideFile || name > "kubernetes.conf" || location.file == "/etc/sysctl.conf" ? location : nil
    }

    public enum AfterReboot: Equatable, Sendable {
        /// A file sets it (the value as the kernel keeps it).
        case set(String, SourceLocation)
        /// No file sets it: the kernel's own default holds.
        case kernelDefault(String)
        /// The key will not exist when systemd-sysctl runs: its module is not loaded at boot.
        case absent(module: String)
        /// The key is gone from this kernel.
        case removed
        /// No file sets it and its default depends on the machine: the running value is lost.
        case unknown

        /// The value the key will have, where known.
        public var value: String? {
            switch self {
            case .set(let value, _), .kernelDefault(let value): value
            case .absent, .removed, .unknown: nil
            }
        }
    }
}
