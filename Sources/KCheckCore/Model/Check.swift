/// The kinds of check a rule can declare. A closed set: every consumer (the evaluator, the rule
/// loader, the profile generator, `rules show`) switches over it exhaustively, so a new kind does
/// not compile until each of them handles it.
public enum Check: Equatable, Sendable {
    /// A kernel parameter: its running value and the value that will hold after a reboot.
    case sysctl(SysctlCheck)
    /// No swap device is active now (/proc/swaps).
    case swapOff
    /// No active swap line in /etc/fstab.
    case fstabNoSwap
    /// Nothing else turns swap on at boot: swap units, zram-generator, swap services.
    case swapSources
    /// SELinux is not enforcing now.
    case selinuxNotEnforcing
    /// /etc/selinux/config sets SELINUX to this mode.
    case selinuxConfig(mode: String)
    /// A systemd service's running and enabled state.
    case service(ServiceCheck)
    /// The clock is NTP-synchronised, judged as timedatectl does.
    case clockSynchronized
    /// /etc/localtime names this zone.
    case timezone(String)
    /// The hardware clock keeps UTC (/etc/adjtime).
    case rtcUTC
    /// The running kernel is at least this version.
    case kernelMinimum(KernelVersion)
    /// A kernel module is present now, or configured to load at boot.
    case kernelModule(KernelModuleCheck)
    /// Packages are installed (names per distribution).
    case packages([DistroName])
    /// A path exists with a type, mode bits, or content matching a pattern.
    case path(PathCheck)
    /// The hostname is NODE_NAMES[i] where NODE_IPS[i] is an address of this node on IFACE.
    case hostnameInInventory
    /// /etc/hosts maps every NODE_IPS[i] to NODE_NAMES[i], and nothing in it contradicts that.
    case hostsMatchInventory
    /// The node's environment.sh is lint-clean.
    case inventoryLintClean
    /// A file passes `kcheck lint` as its kind (ca-config.json, ca-csr.json, …).
    case fileLintClean(FileLintCheck)
    /// The root CA's certificate: a CA that may sign certificates, a strong key, valid now, and
    /// the subject ca-csr.json asks for (when that file is present).
    case caCertificate(CACheck)
    /// The root CA's private key: matches the certificate, mode 0600 or stricter, owned by root.
    case caKey(CACheck)
    /// One aspect of every certificate under some directories, judged against the others.
    case certificates(CertificatesCheck)
    /// A certificate's subject alternative names cover addresses and names of the inventory.
    case certificateSANs(SANCheck)
    /// TCP ports the components will listen on are free, or held by the component itself.
    case portsFree([PortCheck])
    /// At least this many CPUs are online.
    case cpusMinimum(Int)
    /// At least this much memory (MemTotal, in MiB as kubeadm counts it).
    case memoryMinimum(megabytes: Int)
    /// The cgroup hierarchy the components can use: 1 (v1 controllers, or hybrid) or 2 (unified).
    case cgroupVersion(Int)
    /// A cgroup controller is enabled (v1: /proc/cgroups; v2: cgroup.controllers).
    case cgroupController(String)
    /// The hostname is a lowercase RFC 1123 name (what kubelet registers and certificates carry).
    case hostnameValid
    /// The hostname resolves through /etc/hosts to an address of this node (not loopback).
    case hostnameResolves
    /// A virtual service in the kernel's IPVS table with its real servers: kube-proxy in ipvs mode, in use.
    case ipvsService(IPVSCheck)
    /// Where an HTTP proxy is set for root or services, NO_PROXY covers the cluster's addresses.
    case proxyBypass
    /// Every packet-filter chain IPv4 forwarding passes through (legacy iptables' filter FORWARD,
    /// nf_tables base chains at the forward hook) has the policy ACCEPT.
    case firewallForwardAccept
    /// kube-nginx's stream proxy: listening on one address only, to every apiserver.
    case nginxStreamProxy(NginxProxyCheck)
    /// The directories these inventory variables name exist, or can be made (their nearest
    /// existing ancestor is a directory, no file in the way).
    case inventoryDirectories([String])
    /// This directory is on root's PATH as root's login shell sets it, before any other directory
    /// holding a program of the same name (item 4, judged as the shell reads its files).
    case loginPath(String)
    /// The directories these inventory variables name are on different filesystems (/proc/mounts:
    /// the mount each is under), as the guide advises for etcd's WAL and data.
    case separateFilesystems([String])
    /// An installed component's certificates (named by its flags, or by path) are there, issued
    /// by the cluster CA, current, with their own keys; the CA files its flags name hold the CA.
    case componentTLS(ComponentTLSCheck)
    /// The guide's binaries are the versions of its table (item 29, RUNNING-STATE 51), as their
    /// own bytes say: never run.
    case binaryVersion(BinaryVersionCheck)
    /// An installed component's certificate names what the guide's CSR names (CN, O).
    case certificateSubject(CertificateSubjectCheck)
    /// The apiserver's encryption configuration (the file its flag names): secrets encrypted
    /// first with aescbc under the inventory's key, identity after; the old form is a warning.
    case encryptionConfig(EncryptionConfigCheck)
    /// An installed component listens on exactly these sockets (`ADDRESS:PORT`, `$NODE_IP`
    /// allowed), judged from the socket tables and the processes that hold them.
    case componentSockets(ComponentSocketsCheck)
    /// The kernel grub boots by default (grub.cfg or BLS entries, grubenv's saved_entry,
    /// Debian's GRUB_DEFAULT as update-grub will use it) is at least this version.
    case bootKernelMinimum(KernelVersion)
    /// These tables (legacy iptables and iptables-nft's ip family) hold no rules and no chains of
    /// their own, as `iptables -F; iptables -X` leaves them; until one of the `until` units is
    /// installed (then kube-proxy and the network plugin own chains there).
    case firewallFlushed(tables: [String], until: [String])
    /// A flag on an installed component's command line (its unit's ExecStart, as systemd splits it).
    case componentFlag(ComponentFlagCheck)
    /// A setting in an installed component's YAML configuration file (named by one of its flags).
    case componentConfig(ComponentConfigCheck)

    /// The kind's name as written in rule files.
    public var kind: Kind {
        switch self {
        case .sysctl: .sysctl
        case .swapOff: .swapOff
        case .fstabNoSwap: .fstabNoSwap
        case .swapSources: .swapSources
        case .selinuxNotEnforcing: .selinuxNotEnforcing
        case .selinuxConfig: .selinuxConfig
        case .service: .service
        case .clockSynchronized: .clockSynchronized
        case .timezone: .timezone
        case .rtcUTC: .rtcUTC
        case .kernelMinimum: .kernelMinimum
        case .kernelModule: .kernelModule
        case .packages: .packages
        case .path: .path
        case .hostnameInInventory: .hostnameInInventory
        case .hostsMatchInventory: .hostsMatchInventory
        case .inventoryLintClean: .inventoryLintClean
        case .fileLintClean: .fileLintClean
        case .caCertificate: .caCertificate
        case .caKey: .caKey
        case .certificates: .certificates
        case .certificateSANs: .certificateSANs
        case .portsFree: .portsFree
        case .cpusMinimum: .cpusMinimum
        case .memoryMinimum: .memoryMinimum
        case .cgroupVersion: .cgroupVersion
        case .cgroupController: .cgroupController
        case .componentFlag: .componentFlag
        case .componentConfig: .componentConfig
        case .hostnameValid: .hostnameValid
        case .hostnameResolves: .hostnameResolves
        case .proxyBypass: .proxyBypass
        case .ipvsService: .ipvsService
        case .firewallForwardAccept: .firewallForwardAccept
        case .nginxStreamProxy: .nginxStreamProxy
        case .inventoryDirectories: .inventoryDirectories
        case .loginPath: .loginPath
        case .separateFilesystems: .separateFilesystems
        case .componentTLS: .componentTLS
        case .binaryVersion: .binaryVersion
        case .certificateSubject: .certificateSubject
        case .encryptionConfig: .encryptionConfig
        case .componentSockets: .componentSockets
        case .bootKernelMinimum: .bootKernelMinimum
        case .firewallFlushed: .firewallFlushed
        }
    }

    public enum Kind: String, CaseIterable, Sendable {
        case sysctl
        case swapOff = "swap_off"
        case fstabNoSwap = "fstab_no_swap"
        case swapSources = "swap_sources"
        case selinuxNotEnforcing = "selinux_not_enforcing"
        case selinuxConfig = "selinux_config"
        case service
        case clockSynchronized = "clock_synchronized"
        case timezone
        case rtcUTC = "rtc_utc"
        case kernelMinimum = "kernel_minimum"
        case kernelModule = "kernel_module"
        case packages
        case path
        case hostnameInInventory = "hostname_in_inventory"
        case hostsMatchInventory = "hosts_match_inventory"
        case inventoryLintClean = "inventory_lint_clean"
        case fileLintClean = "file_lint_clean"
        case caCertificate = "ca_certificate"
        case caKey = "ca_key"
        case certificates
        case certificateSANs = "certificate_sans"
        case portsFree = "ports_free"
        case cpusMinimum = "cpus_minimum"
        case memoryMinimum = "memory_minimum"
        case cgroupVersion = "cgroup_version"
        case cgroupController = "cgroup_controller"
        case componentFlag = "component_flag"
        case componentConfig = "component_config"
        case hostnameValid = "hostname_valid"
        case hostnameResolves = "hostname_resolves"
        case proxyBypass = "proxy_bypass"
        case ipvsService = "ipvs_service"
        case firewallForwardAccept = "firewall_forward_accept"
        case nginxStreamProxy = "nginx_stream_proxy"
        case inventoryDirectories = "inventory_directories"
        case loginPath = "login_path"
        case separateFilesystems = "separate_filesystems"
        case componentTLS = "component_tls"
        case binaryVersion = "binary_version"
        case certificateSubject = "certificate_subject"
        case encryptionConfig = "encryption_config"
        case componentSockets = "component_sockets"
        case bootKernelMinimum = "boot_kernel_minimum"
        case firewallFlushed = "firewall_flushed"
    }
}

public struct SysctlCheck: Equatable, Sendable {
    public let key: String
    public let value: String
    /// The module that creates the key (br_netfilter for net.bridge.*, nf_conntrack for
    /// net.netfilter.*), if any. A value in a file holds after a reboot only if the key exists
    /// when systemd-sysctl runs: the module must be built in or loaded at boot (modules-load.d).
    public let module: String?
    /// The kernel release that removed the key, if it is gone from newer kernels.
    public let removedIn: KernelVersion?
    /// The kernel's own value for the key when no file sets it (nil: it depends on the machine,
    /// such as memory size).
    public let kernelDefault: String?
    /// The default holds only on kernels older than this one (newer ones compute it).
    public let defaultBefore: KernelVersion?

    public init(
        key: String, value: String, module: String? = nil, removedIn: KernelVersion? = nil, kernelDefault: String? = nil,
        defaultBefore: KernelVersion? = nil
    ) {
        self.key = key
        self.value = value
        self.module = module
        self.removedIn = removedIn
        self.kernelDefault = kernelDefault
        self.defaultBefore = defaultBefore
    }

    /// The value the key has after a boot where no file sets it, on this kernel, if known.
    public func kernelDefault(on kernel: KernelVersion?) -> String? {
        guard let kernelDefault else { return nil }
        guard let defaultBefore else { return kernelDefault }
        guard let kernel else { return nil }
        return kernel < defaultBefore ? kernelDefault : nil
    }
}

public struct ServiceCheck: Equatable, Sendable {
    public let unit: DistroName
    /// nil: not judged.
    public let running: Bool?
    public let enabled: Bool?
    /// The package that provides the unit, which `kcheck fix` installs when the unit is missing
    /// and should run (nil: kcheck does not install it).
    public let package: DistroName?

    public init(unit: DistroName, running: Bool?, enabled: Bool?, package: DistroName? = nil) {
        self.unit = unit
        self.running = running
        self.enabled = enabled
        self.package = package
    }
}

public struct KernelModuleCheck: Equatable, Sendable {
    public enum When: String, Sendable, CaseIterable { case now, boot }

    /// A module, and the kernels that have it (nf_conntrack_ipv4 was folded into nf_conntrack in 4.19).
    public struct Module: Equatable, Sendable {
        public let name: String
        /// Needed only on kernels older than this one.
        public let kernelBelow: KernelVersion?

        public init(_ name: String, kernelBelow: KernelVersion? = nil) {
            self.name = name
            self.kernelBelow = kernelBelow
        }

        public func needed(on kernel: KernelVersion) -> Bool { kernelBelow.map { kernel < $0 } ?? true }
    }

    public let modules: [Module]
    public let when: When
    /// A path whose existence also proves the module present (it may be built into the kernel);
    /// with one module only.
    public let evidence: String?

    public init(modules: [Module], when: When, evidence: String? = nil) {
        self.modules = modules
        self.when = when
        self.evidence = evidence
    }

    public init(name: String, when: When, evidence: String? = nil) {
        self.init(modules: [Module(name)], when: when, evidence: evidence)
    }

    /// The module names, with the kernels that need them where that is not every kernel.
    public var description: String {
        modules.map { m in m.name + (m.kernelBelow.map { " (kernels before \($0))" } ?? "") }.joined(separator: ", ")
    }
}

public struct PathCheck: Equatable, Sendable {
    public enum FileType: String, Sendable, CaseIterable { case file, directory }
    public let path: String
    public let type: FileType
    /// Permission bits of which at least one must be set (0o111: executable by someone).
    public let modeAny: UInt32?
    /// A PCRE2 pattern (multiline) the file's content must match.
    public let matches: String?
    /// The line `kcheck fix` appends when no line matches (it must match `matches`).
    public let append: String?

    public init(path: String, type: FileType, modeAny: UInt32? = nil, matches: String? = nil, append: String? = nil) {
        self.path = path
        self.type = type
        self.modeAny = modeAny
        self.matches = matches
        self.append = append
    }
}

public struct FileLintCheck: Equatable, Sendable {
    public let path: String
    public let kind: FileKind

    public init(path: String, kind: FileKind) {
        self.path = path
        self.kind = kind
    }
}

public struct CACheck: Equatable, Sendable {
    public let certificate: String
    public let key: String
    /// The guide's ca-csr.json, whose CN and names the certificate's subject must carry.
    public let csr: String?

    public init(certificate: String, key: String, csr: String?) {
        self.certificate = certificate
        self.key = key
        self.csr = csr
    }
}

public struct CertificatesCheck: Equatable, Sendable {
    /// What is judged of each certificate.
    public enum Aspect: String, CaseIterable, Sendable {
        /// Valid now, not within the warning or failing number of days of its end.
        case validity
        /// Verifies to a CA among the scanned certificates, and does not outlive it.
        case issuer
        /// Key usage and extended key usage fit its role (told from its file name).
        case usage
        /// A strong key, and the NAME-key.pem beside it matches.
        case key
        /// No other certificate has the same subject (CN, C, ST, L, O, OU).
        case uniqueSubject = "unique_subject"
    }

    public let paths: [String]
    public let aspect: Aspect
    public let warnDays: Int
    public let failDays: Int

    public init(paths: [String], aspect: Aspect, warnDays: Int = 30, failDays: Int = 7) {
        self.paths = paths
        self.aspect = aspect
        self.warnDays = warnDays
        self.failDays = failDays
    }
}

public struct SANCheck: Equatable, Sendable {
    public let path: String
    /// Addresses and names that must be SANs; `$NAME` is the inventory's variable NAME (each item
    /// of an array).
    public let cover: [String]
    /// Whether a missing certificate fails (else the rule does not apply yet).
    public let required: Bool

    public init(path: String, cover: [String], required: Bool) {
        self.path = path
        self.cover = cover
        self.required = required
    }
}

/// kube-nginx (RUNNING-STATE 32): its configuration, named by its unit's `-c`.
public struct NginxProxyCheck: Equatable, Sendable {
    public let unit: String
    public let fileFlag: String
    /// `ADDRESS:PORT` the stream server listens on, and nowhere else.
    public let listen: String
    /// The upstream's servers: an inventory array (`$NODE_IPS`), each on `serverPort`.
    public let servers: String
    public let serverPort: Int

    public init(unit: String, fileFlag: String, listen: String, servers: String, serverPort: Int) {
        self.unit = unit
        self.fileFlag = fileFlag
        self.listen = listen
        self.servers = servers
        self.serverPort = serverPort
    }
}

/// A component certificate's subject (RUNNING-STATE 49): its CN and O, `$NODE_NAME` allowed.
public struct CertificateSubjectCheck: Equatable, Sendable {
    /// Not applicable until this unit is installed.
    public let unit: String
    public let path: String
    public let commonName: String
    public let organization: String

    public init(unit: String, path: String, commonName: String, organization: String) {
        self.unit = unit
        self.path = path
        self.commonName = commonName
        self.organization = organization
    }
}

/// A file a component uses: the file its flag names (`--tls-cert-file`), or a path.
public enum ComponentFileRef: Equatable, Sendable, CustomStringConvertible {
    case flag(String)
    case path(String)

    public var description: String {
        switch self {
        case .flag(let name): "--" + name
        case .path(let path): path
        }
    }
}

/// Binaries of one release (RUNNING-STATE 51): each present one must hold `needle` in its string
/// data (a Go binary's -X version string, nginx's "nginx/1.15.3").
public struct BinaryVersionCheck: Equatable, Sendable {
    public let paths: [String]
    /// The version as people say it ("v1.16.6").
    public let version: String
    /// What the binary holds when it is that version.
    public let needle: String

    public init(paths: [String], version: String, needle: String) {
        self.paths = paths
        self.version = version
        self.needle = needle
    }
}

/// A component's TLS files (RUNNING-STATE 36, 43, 49).
public struct ComponentTLSCheck: Equatable, Sendable {
    public struct Pair: Equatable, Sendable {
        public let certificate: ComponentFileRef
        /// nil: the key is in the certificate's file (kubelet's *-current.pem).
        public let key: ComponentFileRef?

        public init(certificate: ComponentFileRef, key: ComponentFileRef?) {
            self.certificate = certificate
            self.key = key
        }
    }

    /// Not applicable until this unit is installed.
    public let unit: String
    public let pairs: [Pair]
    /// Flags naming CA files: each must hold the issuer's certificate.
    public let authorities: [String]
    /// The cluster CA's certificate.
    public let issuer: String
    /// A certificate expiring within this many days is a warning.
    public let warnDays: Int
    /// The status when a certificate named by path is not there yet (kubelet's serving
    /// certificate before its CSR is approved).
    public let absent: Status
    /// Said when a certificate is absent or near expiry (L6: approval is by hand).
    public let note: String?

    public init(unit: String, pairs: [Pair], authorities: [String], issuer: String, warnDays: Int, absent: Status, note: String?) {
        self.unit = unit
        self.pairs = pairs
        self.authorities = authorities
        self.issuer = issuer
        self.warnDays = warnDays
        self.absent = absent
        self.note = note
    }
}

/// The apiserver's encryption provider configuration (RUNNING-STATE 37).
public struct EncryptionConfigCheck: Equatable, Sendable {
    public let unit: String
    /// The flag naming the file ("encryption-provider-config").
    public let fileFlag: String
    /// The inventory variable the aescbc key must equal ("ENCRYPTION_KEY"); never printed.
    public let keyVariable: String

    public init(unit: String, fileFlag: String, keyVariable: String) {
        self.unit = unit
        self.fileFlag = fileFlag
        self.keyVariable = keyVariable
    }
}

/// Where an installed component must listen, and nowhere else.
public struct ComponentSocketsCheck: Equatable, Sendable {
    public let unit: String
    /// The program's name as /proc shows it (its executable's base name).
    public let program: String
    /// `ADDRESS:PORT` each; `$NODE_IP` is this node's address.
    public let sockets: [String]

    public init(unit: String, program: String, sockets: [String]) {
        self.unit = unit
        self.program = program
        self.sockets = sockets
    }
}

/// A TCP port a component will listen on.
public struct PortCheck: Equatable, Sendable {
    public let port: UInt16
    /// The one address the component binds (127.0.0.1 for kube-nginx); nil: the node's address,
    /// so a listener on any address takes the port.
    public let address: String?
    /// The programs that may hold it (the component itself, on a node that already runs it).
    public let owners: [String]

    public init(port: UInt16, address: String? = nil, owners: [String]) {
        self.port = port
        self.address = address
        self.owners = owners
    }

    /// Whether a listener takes this port from the component.
    public func isTaken(by socket: ListeningSocket) -> Bool {
        guard socket.port == port else { return false }
        guard let address else { return true }
        return socket.isWildcard || socket.address == address
    }

    public var description: String { (address.map { "\($0):" } ?? "") + "\(port) (\(owners.isEmpty ? "closed" : owners.joined(separator: "/")))" }
}

/// What a component's setting must be. `$NAME` in a value is the inventory's variable NAME;
/// `$NODE_IP` and `$NODE_NAME` are this node's entry of NODE_IPS and NODE_NAMES.
public enum SettingExpectation: Equatable, Sendable {
    /// The value, exactly.
    case equals(String)
    /// A comma-separated list that holds each of these.
    case includes([String])
    /// A comma-separated list that holds none of these.
    case excludes([String])
    /// Not set at all (a configuration file's key or table, a flag).
    case absent

    public var description: String {
        switch self {
        case .equals(let value): "= \(value)"
        case .includes(let items): "includes \(items.joined(separator: ", "))"
        case .excludes(let items): "excludes \(items.joined(separator: ", "))"
        case .absent: "absent"
        }
    }

    /// "it must be …" in a message.
    public var requirement: String {
        switch self {
        case .equals(let value): value.isEmpty ? "it must be empty" : "it must be \(value)"
        case .includes(let items): "it must include \(items.joined(separator: " and "))"
        case .excludes(let items): "it must not include \(items.joined(separator: " or "))"
        case .absent: "it must not be set"
        }
    }
}

public struct ComponentFlagCheck: Equatable, Sendable {
    /// The systemd unit that runs the component ("kube-apiserver.service"). Not installed: the
    /// rule does not apply.
    public let unit: String
    /// The flag's name without dashes ("insecure-port").
    public let flag: String
    public let expect: SettingExpectation
    /// The component's own value when the flag is absent (nil: absent fails).
    public let defaultValue: String?
    /// The status when the setting is otherwise: fail, or warn for a known weakness the guide
    /// itself leaves (docs/RUNNING-STATE.md, L1-L13).
    public let otherwise: Status

    public init(unit: String, flag: String, expect: SettingExpectation, defaultValue: String? = nil, otherwise: Status = .fail) {
        self.unit = unit
        self.flag = flag
        self.expect = expect
        self.defaultValue = defaultValue
        self.otherwise = otherwise
    }
}

public struct ComponentConfigCheck: Equatable, Sendable {
    public let unit: String
    /// The flag whose value names the configuration file ("config"); nil: always `defaultFile`.
    public let fileFlag: String?
    /// The file the component reads without the flag (containerd: /etc/containerd/config.toml;
    /// crictl: /etc/crictl.yaml). A default file that is missing means every key's default.
    public let defaultFile: String?
    /// The setting's path in the file, dotted ("authentication.anonymous.enabled").
    public let key: String
    public let expect: SettingExpectation
    /// The component's own value when the file does not set it.
    public let defaultValue: String?
    public let otherwise: Status

    public init(
        unit: String, fileFlag: String?, defaultFile: String? = nil, key: String, expect: SettingExpectation, defaultValue: String? = nil,
        otherwise: Status = .fail
    ) {
        self.unit = unit
        self.fileFlag = fileFlag
        self.defaultFile = defaultFile
        self.key = key
        self.expect = expect
        self.defaultValue = defaultValue
        self.otherwise = otherwise
    }
}

extension ComponentConfigCheck {
    /// A dotted key path's names: `a.b.c`, or with a name in double quotes where it has dots
    /// (`plugins."io.containerd.grpc.v1.cri".cni`); nil when it is not one.
    public static func keyPath(_ key: String) -> [String]? {
        var parts: [String] = []
        var current = ""
        var quoted = false, wasQuoted = false
        for c in key {
            if quoted {
                if c == "\"" { quoted = false } else { current.append(c) }
            } else if c == "\"" {
                guard current.isEmpty, !wasQuoted else { return nil }
                quoted = true
                wasQuoted = true
            } else if c == "." {
                guard !current.isEmpty || wasQuoted else { return nil }
                parts.append(current)
                current = ""
                wasQuoted = false
            } else {
                guard !wasQuoted else { return nil }
                current.append(c)
            }
        }
        guard !quoted, !current.isEmpty || wasQuoted else { return nil }
        parts.append(current)
        return parts
    }
}

public struct IPVSCheck: Equatable, Sendable {
    /// The unit of the component that makes the service (not installed: the rule does not apply).
    public let unit: String
    /// "ADDRESS:PORT" of the virtual service (TCP); `$NAME` is the inventory's.
    public let service: String
    /// The real servers' addresses (`$NODE_IPS`: each node), on `serverPort`.
    public let servers: String
    public let serverPort: UInt16
    public let scheduler: String

    public init(unit: String, service: String, servers: String, serverPort: UInt16, scheduler: String) {
        self.unit = unit
        self.service = service
        self.servers = servers
        self.serverPort = serverPort
        self.scheduler = scheduler
    }
}
