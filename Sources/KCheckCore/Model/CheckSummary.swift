extension Check {
    /// One line saying what the check looks at, for `kcheck rules show`.
    public var summary: String {
        switch self {
        case .sysctl(let c):
            var s = "sysctl \(c.key) = \(c.value) in \(SysctlConfig.procPath(c.key)) and after reboot (the sysctl.d files, in the order systemd-sysctl applies them)"
            if let module = c.module { s += "; needs module \(module) at boot" }
            if let d = c.kernelDefault { s += "; kernel default \(d)\(c.defaultBefore.map { " before Linux \($0)" } ?? "")" }
            if let removed = c.removedIn { s += "; not applicable from Linux \(removed)" }
            return s
        case .swapOff: return "no active swap in /proc/swaps"
        case .fstabNoSwap: return "no uncommented swap line in /etc/fstab"
        case .swapSources: return "no swap unit wanted at boot (unit directories and generators' output; fstab's own left to fstab_no_swap; masked ones do not count), no zram-generator swap device, no swap service enabled (zramswap, dphys-swapfile)"
        case .selinuxNotEnforcing: return "/sys/fs/selinux/enforce is not 1"
        case .selinuxConfig(let mode): return "SELINUX=\(mode) in /etc/selinux/config"
        case .service(let s):
            let want = [s.running.map { $0 ? "running" : "stopped" }, s.enabled.map { $0 ? "enabled" : "disabled" }].compactMap { $0 }
            return "service \(s.unit.description) \(want.joined(separator: " and ")) (enablement from unit files; running state from systemd)\(s.package.map { "; fix installs \($0.description) when the unit is missing" } ?? "")"
        case .clockSynchronized: return "adjtimex: STA_UNSYNC clear and maximum error under 16 s (as timedatectl)"
        case .timezone(let zone): return "/etc/localtime is the \(zone) zone"
        case .rtcUTC: return "/etc/adjtime keeps UTC"
        case .kernelMinimum(let v): return "kernel release (/proc/sys/kernel/osrelease) >= \(v)"
        case .bootKernelMinimum(let v):
            return "grub's default entry boots a kernel >= \(v) (grub.cfg or its BLS entries, grubenv's saved_entry; Debian: GRUB_DEFAULT as update-grub uses it), chosen by title"
        case .kernelModule(let m):
            let names = m.description, plural = m.modules.count > 1 ? "modules" : "module"
            return m.when == .now
                ? "\(plural) \(names) loaded (/sys/module/NAME\(m.evidence.map { " or \($0)" } ?? ""), or built in)"
                : "\(plural) \(names) listed in modules-load.d (or built in)"
        case .packages(let names): return "packages installed: " + names.map(\.description).joined(separator: ", ")
        case .path(let p):
            var s = "\(p.path) is a \(p.type.rawValue)"
            if let mode = p.modeAny { s += " with any of mode bits 0\(String(mode, radix: 8))" }
            if let pattern = p.matches { s += " matching /\(pattern)/" }
            return s
        case .hostnameInInventory: return "hostname is NODE_NAMES[i] where NODE_IPS[i] is an address on IFACE (environment.sh); IFACE exists"
        case .hostsMatchInventory: return "/etc/hosts maps every NODE_IPS[i] to NODE_NAMES[i] and nothing contradicts it"
        case .inventoryLintClean: return "/opt/k8s/bin/environment.sh passes `kcheck lint`"
        case .fileLintClean(let f): return "\(f.path) passes `kcheck lint --kind \(f.kind.rawValue)`"
        case .caCertificate(let c):
            return "\(c.certificate) is a CA (CA:TRUE, keyCertSign), RSA >= 2048 or EC >= 256, valid now\(c.csr.map { ", subject as in \($0) when present" } ?? "")"
        case .caKey(let c): return "\(c.key) matches \(c.certificate), mode 0600 or stricter, owned by root"
        case .certificates(let c):
            let what: String
            switch c.aspect {
            case .validity: what = "valid now and for \(c.warnDays) more days (fail under \(c.failDays))"
            case .issuer: what = "verifies to a CA among them and does not outlive it"
            case .usage: what = "key usage and extended key usage fit its role"
            case .key: what = "a strong key, and NAME-key.pem beside it matches"
            case .uniqueSubject: what = "a subject (CN, C, ST, L, O, OU) no other certificate has"
            }
            return "every certificate under \(c.paths.joined(separator: ", ")): \(what)"
        case .certificateSANs(let c): return "\(c.path)'s SANs cover \(c.cover.joined(separator: ", "))\(c.required ? "" : " (when present)")"
        case .cpusMinimum(let count): return "at least \(count) CPUs online (/sys/devices/system/cpu/online)"
        case .memoryMinimum(let megabytes): return "at least \(megabytes) MiB of memory (MemTotal in /proc/meminfo)"
        case .cgroupVersion(let version):
            return "cgroup v\(version) (/proc/mounts: \(version == 1 ? "v1 controllers mounted under /sys/fs/cgroup, alone or beside a unified hierarchy" : "cgroup2 at /sys/fs/cgroup"))"
        case .cgroupController(let name): return "cgroup controller \(name) enabled (v1: /proc/cgroups; v2: /sys/fs/cgroup/cgroup.controllers)"
        case .hostnameValid: return "the hostname (/proc/sys/kernel/hostname) is a lowercase RFC 1123 name: labels of a-z, 0-9 and -, 1-63 long, not starting or ending with -, 253 in all"
        case .hostnameResolves: return "the first /etc/hosts line naming the hostname gives an address of this node, not a loopback one"
        case .ipvsService(let c): return "/proc/net/ip_vs: TCP \(c.service) with scheduler \(c.scheduler) and a real server at each of \(c.servers) on port \(c.serverPort) (when \(c.unit) is installed)"
        case .binaryVersion(let c):
            return "each of \(c.paths.joined(separator: ", ")) that is installed is \(c.version): its string data holds `\(c.needle)` (read from its bytes, never run)"
        case .componentTLS(let c):
            let files = c.pairs.map { pair in pair.key.map { "\(pair.certificate) with \($0)" } ?? "\(pair.certificate) (key in the file)" }
            return "when \(c.unit) is installed: \(files.joined(separator: ", ")) present, issued by \(c.issuer), current (warn within \(c.warnDays) days), each with its own key"
                + (c.authorities.isEmpty ? "" : "; \(c.authorities.map { "--" + $0 }.joined(separator: ", ")) hold \(c.issuer)")
        case .separateFilesystems(let names):
            return "the directories \(names.joined(separator: ", ")) name (the inventory) are on different filesystems: the mount point each is under (/proc/mounts) differs"
        case .loginPath(let directory):
            return "\(directory) on root's PATH as its login shell sets it (/etc/profile, profile.d, ~/.bash_profile, the .bashrc it sources), before any other directory with a program of the same name"
        case .inventoryDirectories(let names):
            return "the directories \(names.joined(separator: ", ")) name (the inventory) exist, or can be made: their nearest existing ancestor is a directory"
        case .nginxStreamProxy(let c):
            return "when \(c.unit) is installed: its configuration (-\(c.fileFlag)) has a stream server listening on \(c.listen) only, proxying to an upstream of every \(c.servers):\(c.serverPort); `hash $remote_addr` (L10) a warning"
        case .certificateSubject(let c):
            return "when \(c.unit) is installed: \(c.path)'s subject has CN=\(c.commonName) and O=\(c.organization) (when the file is there)"
        case .encryptionConfig(let c):
            return "when \(c.unit) is installed: the file of --\(c.fileFlag) encrypts secrets first with aescbc under \(c.keyVariable) (compared, never shown), identity after; EncryptionConfiguration (apiserver.config.k8s.io/v1), the old EncryptionConfig/v1 a warning"
        case .componentSockets(let c):
            return "when \(c.unit) is installed: \(c.program) listens on exactly \(c.sockets.joined(separator: ", ")) (/proc/net/tcp, tcp6 and the processes holding the sockets)"
        case .firewallForwardAccept:
            return "every packet-filter chain IPv4 forwarding passes (legacy iptables' filter FORWARD; nf_tables base chains at the forward hook, families ip and inet) has the policy ACCEPT"
        case .firewallFlushed(let tables, let until):
            return "iptables tables \(tables.joined(separator: ", ")) (legacy and nf_tables' ip family) hold no rules and no chains of their own"
                + (until.isEmpty ? "" : " (until \(until.joined(separator: " or ")) is installed)")
        case .proxyBypass: return "where HTTP(S)_PROXY is set (/etc/environment, root's shell files, systemd's DefaultEnvironment, the components' units), NO_PROXY covers 127.0.0.1, NODE_IPS, SERVICE_CIDR and CLUSTER_CIDR"
        case .componentFlag(let c):
            return "\(c.unit)'s ExecStart: --\(c.flag) \(c.expect.description)\(c.defaultValue.map { " (absent: \($0))" } ?? "")"
        case .componentConfig(let c):
            let file = [c.fileFlag.map { "the file of --\($0)" }, c.defaultFile.map { c.fileFlag == nil ? $0 : "else \($0)" }].compactMap { $0 }.joined(separator: ", ")
            return "\(c.unit): \(file): \(c.key) \(c.expect.description)\(c.defaultValue.map { " (unset: \($0))" } ?? "")"
        case .portsFree(let ports):
            return "TCP ports free (/proc/net/tcp, tcp6: no listener), or held by their component: " + ports.map(\.description).joined(separator: ", ")
        }
    }
}
