import KCheckNative

extension Evaluator {
    func swapOff() throws(OutcomeError) -> Outcome {
        let expected = "no active swap"
        let text = try readText("/proc/swaps", expected: expected)
        guard let text else { return unavailable(expected, "/proc/swaps is missing") }
        let devices = text.split(separator: "\n").dropFirst().compactMap { $0.fields.first.map(String.init) }
        if devices.isEmpty { return Outcome(status: .pass, expected: expected, actual: "no active swap", message: "") }
        return Outcome(
            status: .fail, expected: expected, actual: "active: " + devices.joined(separator: ", "),
            message: "Swap is on (\(devices.joined(separator: ", "))): kubelet refuses to start. Run swapoff -a.")
    }

    func fstabNoSwap() throws(OutcomeError) -> Outcome {
        let expected = "no active swap line in /etc/fstab"
        let text = try readText("/etc/fstab", expected: expected)
        guard let text else { return Outcome(status: .pass, expected: expected, actual: "no /etc/fstab", message: "") }
        let swap = Fstab.activeSwap(Array(text.utf8))
        let found = swap.map { SourceLocation(file: "/etc/fstab", line: $0.line) }
        let tabbed = swap.contains { $0.tabbed }
        if found.isEmpty { return Outcome(status: .pass, expected: expected, actual: "none", message: "") }
        var message = "Swap will be on again after a reboot: comment out \(found.map(\.description).joined(separator: ", "))."
        if tabbed {
            message += " The guide's `sed -i '/ swap / s/^\\(.*\\)$/#\\1/g' /etc/fstab` misses these lines: their fields are separated by tabs, not spaces."
        }
        return Outcome(
            status: .fail, expected: expected, actual: "active swap at " + found.map(\.description).joined(separator: ", "),
            message: message, evidence: found)
    }

    func selinuxNotEnforcing() throws(OutcomeError) -> Outcome {
        let expected = "not enforcing"
        switch try readText("/sys/fs/selinux/enforce", expected: expected) {
        case let text?:
            let mode = text.trimmed
            if mode == "0" { return Outcome(status: .pass, expected: expected, actual: "permissive", message: "") }
            return Outcome(
                status: .fail, expected: expected, actual: mode == "1" ? "enforcing" : "enforce=\(mode)",
                message: "SELinux is enforcing: kubelet's mounts fail with \"Permission denied\". Run setenforce 0.")
        case nil:
            if case .success = facts.node.status("/etc/selinux/config") {
                return Outcome(status: .pass, expected: expected, actual: "disabled", message: "SELinux is disabled in the running kernel.")
            }
            return Outcome(status: .skip, expected: expected, actual: "no SELinux", message: "SELinux is not present on this node.")
        }
    }

    func selinuxConfig(_ mode: String) throws(OutcomeError) -> Outcome {
        let expected = "SELINUX=\(mode) in /etc/selinux/config"
        let text = try readText("/etc/selinux/config", expected: expected)
        guard let text else {
            return Outcome(status: .skip, expected: expected, actual: "no /etc/selinux/config", message: "SELinux is not installed on this node.")
        }
        var setting: (value: String, location: SourceLocation)?
        for (number, line) in numberedLines(Array(text.utf8)) {
            let trimmed = line.trimmed
            guard trimmed.hasPrefix("SELINUX="), !trimmed.hasPrefix("#") else { continue }
            var value = trimmed.dropFirst("SELINUX=".count).trimmed
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q { value = value.dropFirst().dropLast() }
            setting = (String(value), SourceLocation(file: "/etc/selinux/config", line: number))
        }
        guard let setting else {
            return Outcome(status: .fail, expected: expected, actual: "no SELINUX= line", message: "Add SELINUX=\(mode) to /etc/selinux/config.")
        }
        if setting.value.lowercased() == mode.lowercased() {
            return Outcome(status: .pass, expected: expected, actual: "SELINUX=\(setting.value)", message: "", evidence: [setting.location])
        }
        return Outcome(
            status: .fail, expected: expected, actual: "SELINUX=\(setting.value) (\(setting.location))",
            message: "After a reboot SELinux will be \(setting.value): set SELINUX=\(mode) at \(setting.location).",
            evidence: [setting.location])
    }

    func kernelMinimum(_ minimum: KernelVersion) -> Outcome {
        let expected = ">= \(minimum)"
        switch (facts.kernelVersion, facts.kernelRelease) {
        case (.unavailable(let why), _): return unavailable(expected, why)
        case (.available(let version), let release):
            let text: String
            if case .available(let r) = release { text = r } else { text = version.description }
            if version >= minimum { return Outcome(status: .pass, expected: expected, actual: text, message: "") }
            return Outcome(
                status: .fail, expected: expected, actual: text,
                message: "Kernel \(text) is older than \(minimum): 3.10 leaks cgroup memory with kernel memory accounting and network device references (\"unregister_netdevice: waiting for eth0 to become free\"). Install a newer kernel, make it grub's default entry, and reboot.")
        }
    }

    /// The modules of a check this node's kernel needs, and of those the ones missing (now, or at
    /// boot); nil with the reason when the kernel cannot be told and a module depends on it.
    func modules(_ check: KernelModuleCheck) -> Result<(needed: [String], missing: [String]), OutcomeError> {
        var needed: [String] = []
        let kernel = check.when == .boot ? bootKernelVersion : facts.kernelVersion
        for module in check.modules {
            guard module.kernelBelow != nil else {
                needed.append(module.name)
                continue
            }
            switch kernel {
            case .available(let kernel): if module.needed(on: kernel) { needed.append(module.name) }
            case .unavailable(let why): return .failure(OutcomeError(outcome: unavailable("\(check.description) loaded", why)))
            }
        }
        let missing = needed.filter { name in
            if facts.isBuiltIn(name) { return false }
            switch check.when {
            case .now:
                if facts.isLoaded(name) { return false }
                if let evidence = check.evidence, case .success = facts.node.status(evidence) { return false }
                return true
            case .boot: return facts.bootModules.names[name.replacingDashes] == nil
            }
        }
        return .success((needed, missing))
    }

    /// The version of the kernel the next boot starts: grub's default entry where grub can tell,
    /// else the running one. What modules-load.d must name modules for.
    func readBootKernelVersion() -> Fact<KernelVersion> {
        if let boot = (try? bootDefault("the booting kernel")) ?? nil, let release = boot.release, let version = KernelVersion(parsing: release) {
            return .available(version)
        }
        return facts.kernelVersion
    }

    func kernelModule(_ check: KernelModuleCheck) -> Outcome {
        let names = check.modules.map(\.name).joined(separator: ", ")
        let expected = check.when == .now ? "\(names) loaded" : "\(names) loaded at boot"
        let needed: [String], missing: [String]
        switch modules(check) {
        case .success(let m): (needed, missing) = m
        case .failure(let error): return error.outcome
        }
        // The plan loads exactly what was observed missing here (never asks again).
        var outcome = moduleOutcome(check, expected: expected, needed: needed, missing: missing)
        outcome.observation = .modules(ModulesObservation(when: check.when, needed: needed, missing: missing))
        return outcome
    }

    private func moduleOutcome(_ check: KernelModuleCheck, expected: String, needed: [String], missing: [String]) -> Outcome {
        if needed.isEmpty {
            let kernel = facts.kernelRelease.value ?? "this kernel"
            return Outcome(status: .skip, expected: expected, actual: "not needed on \(kernel)", message: "\(check.description): not needed on kernel \(kernel)")
        }
        let one = needed.count == 1
        switch check.when {
        case .now:
            if missing.isEmpty {
                let name = needed[0]
                if one, !facts.isLoaded(name) {
                    if facts.isBuiltIn(name) { return Outcome(status: .pass, expected: expected, actual: "built into the kernel", message: "") }
                    if let evidence = check.evidence { return Outcome(status: .pass, expected: expected, actual: "present (\(evidence) exists)", message: "") }
                }
                return Outcome(status: .pass, expected: expected, actual: one ? "loaded" : "\(needed.joined(separator: ", ")) loaded", message: "")
            }
            let list = missing.joined(separator: ", ")
            return Outcome(
                status: .fail, expected: expected, actual: "\(list) not loaded",
                message: missing.count == 1
                    ? "\(list) is not loaded: run modprobe \(list)."
                    : "\(list) are not loaded: run modprobe -a \(missing.joined(separator: " ")).")
        case .boot:
            let boot = facts.bootModules
            if missing.isEmpty {
                let locations = needed.compactMap { boot.names[$0.replacingDashes] }
                let actual = one
                    ? locations.first.map { "listed at \($0)" } ?? "built into the kernel"
                    : "listed at " + locations.map(\.description).joined(separator: ", ")
                // A module the booting kernel no longer has (nf_conntrack_ipv4 from 4.19), listed
                // anyway: systemd-modules-load.service fails at every boot.
                let gone = check.modules.filter { !needed.contains($0.name) }.compactMap { m in boot.names[m.name.replacingDashes].map { (m, $0) } }
                if let (module, location) = gone.first, let below = module.kernelBelow {
                    let kernel = bootKernelVersion.value.map(\.description) ?? "the booting kernel"
                    return Outcome(
                        status: .warn, expected: expected, actual: actual,
                        message: "\(location) lists \(module.name), which kernels from \(below) on do not have (the booting kernel is \(kernel)): systemd-modules-load.service fails at every boot. Remove that line.",
                        evidence: locations + [location])
                }
                return Outcome(status: .pass, expected: expected, actual: actual, message: "", evidence: locations)
            }
            if !boot.problems.isEmpty { return unavailable(expected, boot.problems.joined(separator: "; ")) }
            let list = missing.joined(separator: ", ")
            return Outcome(
                status: .fail, expected: expected, actual: "\(list) not listed in modules-load.d",
                message: missing.count == 1
                    ? "Nothing loads \(list) at boot: add it to /etc/modules-load.d/\(list).conf."
                    : "Nothing loads \(list) at boot: add them to a file in /etc/modules-load.d/.")
        }
    }
}

extension Evaluator {
    /// Item 48: where an installed component listens, exactly. A socket on every address where
    /// one address is documented is an extra one: it answers on every network of the node.
    func componentSockets(_ check: ComponentSocketsCheck) throws(OutcomeError) -> Outcome {
        let expected = "\(check.program) listens on \(check.sockets.joined(separator: ", ")) only"
        guard try componentFlags(check.unit, expected: expected) != nil else { return notInstalled(check.unit, expected) }
        var wanted: [String] = []
        for socket in check.sockets {
            switch resolve(socket) {
            case .success(let text): wanted.append(text)
            case .failure(.noInventory): return Outcome(status: .skip, expected: expected, actual: "no inventory", message: Self.noInventory)
            case .failure(let problem): return unavailable(expected, problem.message)
            }
        }
        let expectedNow = "\(check.program) listens on \(wanted.joined(separator: ", ")) only"
        let sockets: [ListeningSocket]
        switch facts.listeningSockets() {
        case .success(let s): sockets = s
        case .failure(let problem): throw OutcomeError(outcome: unavailable(expectedNow, problem.message))
        }
        let owners = facts.socketOwners(Set(sockets.map(\.inode)))
        let held = sockets.filter { owners[$0.inode]?.program == check.program }
        let endpoints = Set(held.map(\.endpoint))
        guard !held.isEmpty else {
            return Outcome(
                status: .fail, expected: expectedNow, actual: "no listening socket",
                message: "\(check.unit) is installed but \(check.program) holds no listening socket: it is not running, or failed to bind (its journal says why: journalctl -u \(check.unit)).")
        }
        let missing = wanted.filter { !endpoints.contains($0) }
        let extra = held.map(\.endpoint).filter { !wanted.contains($0) }.sorted()
        let actual = held.map(\.endpoint).sorted().joined(separator: ", ")
        if missing.isEmpty && extra.isEmpty { return Outcome(status: .pass, expected: expectedNow, actual: actual, message: "") }
        var parts: [String] = []
        if !extra.isEmpty {
            let wild = held.filter { $0.isWildcard && extra.contains($0.endpoint) }.map(\.endpoint).sorted()
            parts.append("it also listens on \(extra.joined(separator: ", "))" + (wild.isEmpty ? "" : " (\(wild.joined(separator: ", ")): every address of the node, every network it is on)"))
        }
        if !missing.isEmpty { parts.append("it does not listen on \(missing.joined(separator: ", "))") }
        return Outcome(
            status: .fail, expected: expectedNow, actual: actual,
            message: "\(check.program) listens where the guide does not have it listen: \(parts.joined(separator: "; ")). Its flags and configuration file decide (bind and port settings); see the component's own rules.")
    }

    func portsFree(_ ports: [PortCheck]) throws(OutcomeError) -> Outcome {
        let expected = "free: " + ports.map { ($0.address.map { "\($0):" } ?? "") + String($0.port) }.joined(separator: ", ")
        let sockets: [ListeningSocket]
        switch facts.listeningSockets() {
        case .success(let s): sockets = s
        case .failure(let problem): throw OutcomeError(outcome: unavailable(expected, problem.message))
        }
        let taken = ports.map { port in (port, sockets.filter { port.isTaken(by: $0) }) }.filter { !$0.1.isEmpty }
        if taken.isEmpty { return Outcome(status: .pass, expected: expected, actual: "all \(ports.count) free", message: "") }
        let owners = facts.socketOwners(Set(taken.flatMap { $0.1.map(\.inode) }))
        var problems: [String] = [], theirs: [String] = []
        for (port, listeners) in taken {
            for socket in listeners {
                let owner = owners[socket.inode]
                let who = owner.map { "\($0.program) (pid \($0.pid))" } ?? "a process kcheck could not find (socket inode \(socket.inode))"
                if let owner, port.owners.contains(owner.program) {
                    theirs.append("\(socket.endpoint) \(owner.program)")
                } else {
                    problems.append("\(socket.endpoint) is held by \(who)" + (port.owners.isEmpty ? ": it must be closed" : ", not \(port.owners.joined(separator: " or "))"))
                }
            }
        }
        if problems.isEmpty {
            return Outcome(status: .pass, expected: expected, actual: "free, or held by their component: " + theirs.joined(separator: ", "), message: "")
        }
        return Outcome(
            status: .fail, expected: expected, actual: problems.joined(separator: "; "),
            message: "\(problems.count == 1 ? "A port" : "\(problems.count) ports") the components will listen on \(problems.count == 1 ? "is" : "are") taken: "
                + problems.joined(separator: "; ") + ". Stop that program or move it to another port before installing.")
    }
}
