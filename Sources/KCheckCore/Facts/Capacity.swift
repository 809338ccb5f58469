/// CPUs, memory and cgroups as the kernel shows them (/sys, /proc): what kubeadm's preflight
/// checks before it installs.
enum Capacity {
    /// The number of CPUs in a kernel CPU list ("0-3,8,10-11"); nil when it is not one.
    static func cpuCount(_ text: String) -> Int? {
        var count = 0
        for part in text.trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 1 || bounds.count == 2, let low = Int(bounds[0]), low >= 0, low < 1 << 20 else { return nil }
            guard bounds.count == 2 else {
                count += 1
                continue
            }
            guard let high = Int(bounds[1]), high >= low, high < 1 << 20 else { return nil }
            count += high - low + 1
        }
        return count > 0 ? count : nil
    }

    /// MemTotal of /proc/meminfo, in kB.
    static func memTotalKB(_ bytes: [UInt8]) -> Int? {
        for (_, line) in numberedLines(bytes) where line.hasPrefix("MemTotal:") {
            let fields = line.dropFirst(9).fields
            guard let value = fields.first.flatMap({ Int($0) }), value >= 0, fields.count <= 2 else { return nil }
            return value
        }
        return nil
    }

    /// How cgroups are mounted (/proc/mounts).
    enum Layout: Equatable {
        /// v1 controllers under /sys/fs/cgroup (with or without a unified hierarchy beside them).
        case v1(controllers: [String], hybrid: Bool)
        /// cgroup2 at /sys/fs/cgroup.
        case v2
        /// No cgroup file system mounted under /sys/fs/cgroup.
        case none
    }

    /// The cgroup layout from /proc/mounts' lines (device, mount point, type, options, …); mount
    /// points with octal escapes (\040) are compared as written.
    static func layout(mounts bytes: [UInt8]) -> Layout {
        var controllers: [String] = []
        var unifiedBeside = false
        for (_, line) in numberedLines(bytes) {
            let fields = line.fields
            guard fields.count >= 4 else { continue }
            let point = fields[1], type = fields[2]
            if type == "cgroup2" && point == "/sys/fs/cgroup" { return .v2 }
            if type == "cgroup2" && point.hasPrefix("/sys/fs/cgroup/") { unifiedBeside = true }
            if type == "cgroup" && point.hasPrefix("/sys/fs/cgroup/") {
                let known = ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "blkio", "perf_event", "net_prio", "hugetlb", "pids", "rdma", "misc"]
                controllers += fields[3].split(separator: ",").map(String.init).filter { known.contains($0) }
            }
        }
        if !controllers.isEmpty { return .v1(controllers: controllers, hybrid: unifiedBeside) }
        return .none
    }

    /// /proc/cgroups: each v1 controller the kernel has, and whether it is enabled.
    static func controllers(_ bytes: [UInt8]) -> [String: Bool] {
        var out: [String: Bool] = [:]
        for (_, line) in numberedLines(bytes) where !line.hasPrefix("#") {
            let fields = line.fields
            guard fields.count == 4 else { continue }
            out[String(fields[0])] = fields[3] == "1"
        }
        return out
    }
}

extension Evaluator {
    func cpusMinimum(_ minimum: Int) throws(OutcomeError) -> Outcome {
        let expected = "at least \(minimum) CPUs"
        guard let text = try readText("/sys/devices/system/cpu/online", expected: expected, limit: 64 << 10) else {
            return unavailable(expected, "/sys/devices/system/cpu/online is missing")
        }
        guard let count = Capacity.cpuCount(text) else { return unavailable(expected, "/sys/devices/system/cpu/online is not a CPU list: \(text.trimmed.prefix(80))") }
        if count >= minimum { return Outcome(status: .pass, expected: expected, actual: "\(count) CPUs", message: "") }
        return Outcome(
            status: .fail, expected: expected, actual: "\(count) CPU\(count == 1 ? "" : "s")",
            message: "The node has \(count) CPU\(count == 1 ? "" : "s"); the guide runs etcd, the control plane and kubelet on every node, which needs \(minimum) or more (kubeadm refuses fewer). Give the machine more CPUs.")
    }

    func memoryMinimum(_ megabytes: Int) throws(OutcomeError) -> Outcome {
        let expected = "at least \(megabytes) MiB of memory"
        guard case .content(let bytes) = facts.node.read("/proc/meminfo", limit: 1 << 20) else {
            return unavailable(expected, "/proc/meminfo is missing or unreadable")
        }
        guard let kb = Capacity.memTotalKB(bytes) else { return unavailable(expected, "/proc/meminfo has no MemTotal line kcheck can read") }
        let mib = kb / 1024
        if mib >= megabytes { return Outcome(status: .pass, expected: expected, actual: "\(mib) MiB", message: "") }
        return Outcome(
            status: .fail, expected: expected, actual: "\(mib) MiB",
            message: "The node has \(mib) MiB of memory, less than \(megabytes) MiB: etcd, the apiserver and kubelet together will be killed by the OOM killer under load (kubeadm refuses it). Give the machine more memory.")
    }

    /// The kernel's command line, for advice (cgroup_disable=, systemd.unified_cgroup_hierarchy=).
    var kernelCommandLine: [Substring] {
        if case .content(let bytes) = facts.node.read("/proc/cmdline", limit: 64 << 10) { return String(decoding: bytes, as: UTF8.self).fields }
        return []
    }

    func cgroupLayout(_ expected: String) throws(OutcomeError) -> Capacity.Layout {
        guard case .content(let bytes) = facts.node.read("/proc/mounts", limit: defaultReadLimit) else {
            throw OutcomeError(outcome: unavailable(expected, "/proc/mounts is missing or unreadable"))
        }
        return Capacity.layout(mounts: bytes)
    }

    func cgroupVersion(_ version: Int) throws(OutcomeError) -> Outcome {
        let expected = "cgroup v\(version)"
        let layout = try cgroupLayout(expected)
        let actual: String, found: Int
        switch layout {
        case .v1(_, let hybrid): (actual, found) = (hybrid ? "cgroup v1 (hybrid: v1 controllers, a unified hierarchy beside them)" : "cgroup v1", 1)
        case .v2: (actual, found) = ("cgroup v2 (unified)", 2)
        case .none: return unavailable(expected, "no cgroup file system is mounted under /sys/fs/cgroup (/proc/mounts)")
        }
        if found == version { return Outcome(status: .pass, expected: expected, actual: actual, message: "") }
        let parameter = "systemd.unified_cgroup_hierarchy=\(version == 1 ? 0 : 1)"
        let already = kernelCommandLine.contains { $0 == parameter }
        return Outcome(
            status: .fail, expected: expected, actual: actual,
            message: version == 1
                ? "The node mounts cgroup v2 (Debian 12's default); the guide's kubelet 1.16 and containerd 1.3 need cgroup v1 and fail to start containers on v2. "
                    + (already ? "\(parameter) is on the kernel's command line, yet v2 is mounted: this systemd ignores it." : "Add \(parameter) to GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub (grub2-mkconfig -o /boot/grub2/grub.cfg on CentOS) and reboot.")
                : "The node mounts cgroup v1; add \(parameter) to the kernel's command line and reboot.")
    }

    func cgroupController(_ name: String) throws(OutcomeError) -> Outcome {
        let expected = "the \(name) cgroup controller enabled"
        let disabledByParameter = kernelCommandLine.contains { $0.hasPrefix("cgroup_disable=") && $0.dropFirst(15).split(separator: ",").contains(Substring(name)) }
        let advice = disabledByParameter
            ? "The kernel's command line disables it (cgroup_disable=\(name)): remove that from GRUB_CMDLINE_LINUX (and from /boot/cmdline.txt on a Raspberry Pi), regenerate grub's configuration and reboot."
            : "Enable it on the kernel's command line (cgroup_enable=\(name)) and reboot."
        switch try cgroupLayout(expected) {
        case .v2:
            guard let text = try readText("/sys/fs/cgroup/cgroup.controllers", expected: expected, limit: 64 << 10) else {
                return unavailable(expected, "/sys/fs/cgroup/cgroup.controllers is missing")
            }
            if text.fields.contains(Substring(name)) { return Outcome(status: .pass, expected: expected, actual: "enabled (cgroup v2)", message: "") }
            return Outcome(status: .fail, expected: expected, actual: "not in cgroup.controllers", message: "kubelet cannot limit pods' \(name) without the \(name) controller. " + advice)
        case .v1, .none:
            guard case .content(let bytes) = facts.node.read("/proc/cgroups", limit: 64 << 10) else { return unavailable(expected, "/proc/cgroups is missing or unreadable") }
            switch Capacity.controllers(bytes)[name] {
            case true?: return Outcome(status: .pass, expected: expected, actual: "enabled (/proc/cgroups)", message: "")
            case false?:
                return Outcome(status: .fail, expected: expected, actual: "disabled (/proc/cgroups)", message: "kubelet cannot limit pods' \(name) without the \(name) controller. " + advice)
            case nil:
                return Outcome(status: .fail, expected: expected, actual: "not in /proc/cgroups", message: "This kernel has no \(name) cgroup controller: kubelet refuses to start. Use a kernel built with it.")
            }
        }
    }
}
