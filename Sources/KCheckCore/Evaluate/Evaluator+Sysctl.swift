extension SysctlCheck {
    /// Whether a value (running, or written in a file) is the one this check wants, as the
    /// kernel keeps it: for a numeric key, its leading number.
    func accepts(_ raw: String) -> Bool {
        guard isNumeric(value) else { return raw.fields == value.fields }
        let want = value.fields
        if want.count == 1 { return leadingInteger(Substring(raw)) == leadingInteger(want[0]) }
        let got = raw.fields
        return got.count == want.count && zip(got, want).allSatisfy { leadingInteger($0) == leadingInteger($1) }
    }
}

extension Evaluator {
    /// A kernel parameter is right when its running value and the value that will hold after a
    /// reboot both match. After a reboot means: the last assignment systemd-sysctl applies at
    /// boot, as the kernel keeps it, provided the key exists then (a module's key exists only if
    /// the module is built in or loaded at boot); where no file sets it, the kernel's default.
    func sysctl(_ check: SysctlCheck) -> Outcome {
        let expected = "\(check.value) now and after reboot"
        let config = facts.sysctlConfig
        let decider = config.effective(check.key)
        let numeric = isNumeric(check.value)
        let kernel: KernelVersion? = if case .available(let v) = facts.kernelVersion { v } else { nil }

        func matches(_ raw: String) -> Bool { check.accepts(raw) }

        /// What the kernel keeps of a persisted value.
        func kept(_ raw: String) -> String {
            guard numeric, check.value.fields.count == 1, raw.fields.count > 1 else { return raw }
            return leadingInteger(Substring(raw)).map(String.init) ?? raw
        }

        // The module that makes the key, when it will not be there at boot.
        let missingAtBoot: String? = check.module.flatMap { facts.loadedAtBoot($0) ? nil : $0 }
        let kernelDefault = check.kernelDefault(on: kernel)
        let afterReboot: SysctlObservation.AfterReboot =
            if let missingAtBoot { .absent(module: missingAtBoot) }
            else if let decider { .set(kept(decider.value), decider.location) }
            else if let kernelDefault { .kernelDefault(kernelDefault) }
            else { .unknown }
        // What `sysctl --system` would apply now, where it differs from the boot.
        let now = config.effectiveNow(check.key)
        let applyNow: SysctlAssignment? = now.flatMap { now in decider.map { kept($0.value) } == kept(now.value) ? nil : now }

        var evidence: [SourceLocation] = decider.map { [$0.location] } ?? []
        var notes: [String] = []
        let persistedOK: Bool
        let persisted: String
        if let decider {
            persistedOK = matches(decider.value)
            persisted = "\(kept(decider.value)) (\(decider.location))"
            if !persistedOK {
                var note = "After a reboot it will be \(kept(decider.value)), set by \(decider.location)"
                if kept(decider.value) != decider.value {
                    note += " (the line's value is `\(decider.value)`; the kernel keeps only the leading number)"
                }
                if let earlier = config.occurrences(check.key).last(where: { matches($0.value) }) {
                    note += "; \(earlier.location) sets \(check.value), but a later assignment wins"
                    evidence.insert(earlier.location, at: 0)
                }
                notes.append(note + ".")
            } else if kept(decider.value) != decider.value {
                notes.append(
                    "\(decider.location) reads `\(check.key)=\(decider.value)`: two settings on one line; the kernel keeps \(kept(decider.value)), and the rest is never set.")
            }
        } else {
            if let kernelDefault {
                persistedOK = matches(kernelDefault)
                persisted = "\(kernelDefault) (kernel default)"
                notes.append(
                    persistedOK
                        ? "No sysctl file sets it; the kernel's default, \(kernelDefault), holds after a reboot."
                        : "No sysctl file sets it, so after a reboot the kernel's default, \(kernelDefault), holds.")
            } else {
                persistedOK = false
                persisted = "not set in any sysctl file"
                notes.append("No sysctl file sets it, so the running value is lost at reboot (its default depends on the machine).")
            }
            for host in config.swallowed(check.key) {
                notes.append(
                    "\(host.location) writes `\(host.key)=\(host.value)` on one line: sysctl sets only \(host.key) (to the whole rest of the line) and never sets \(check.key), and still exits 0.")
                evidence.append(host.location)
            }
        }
        var nowWrong = false
        if let applyNow {
            nowWrong = !matches(applyNow.value)
            notes.append(
                "`sysctl --system` run now would leave \(kept(applyNow.value)) (\(applyNow.location), which it reads last), but at boot systemd-sysctl applies \(decider.map { "\(kept($0.value)) (\($0.location))" } ?? "no file's value") and does not read /etc/sysctl.conf itself.")
            if nowWrong { evidence.append(applyNow.location) }
        }

        let path = SysctlConfig.procPath(check.key)
        func observed(_ running: String?) -> Observation {
            .sysctl(SysctlObservation(key: check.key, wanted: check.value, running: running, afterReboot: afterReboot, applyNow: applyNow))
        }
        let running: String
        switch facts.node.read(path, limit: 64 << 10) {
        case .unreadable(let why):
            return unavailable(expected, why)
        case .missing:
            if let removedIn = check.removedIn, let kernel, kernel >= removedIn {
                var message = "\(check.key) was removed in Linux \(removedIn); this kernel (\(kernel)) has no such key, so there is nothing to set"
                if let decider {
                    message += ". \(decider.location) still sets it: systemd-sysctl logs an error for it at every boot; delete that line"
                }
                let gone = Observation.sysctl(SysctlObservation(key: check.key, wanted: check.value, running: nil, afterReboot: .removed, applyNow: nil))
                return Outcome(status: .skip, expected: expected, actual: "no such key", message: message + ".", evidence: evidence, observation: gone)
            }
            if let module = check.module, !facts.isLoaded(module), !facts.isBuiltIn(module) {
                return Outcome(
                    status: .fail, expected: expected, actual: "absent (\(module) not loaded); after reboot \(missingAtBoot == nil ? persisted : "absent")",
                    message: "The key does not exist because the \(module) module is not loaded: load it (modprobe \(module)) and list it in /etc/modules-load.d, then apply the settings. " + notes.joined(separator: " "),
                    evidence: evidence, observation: observed(nil))
            }
            return unavailable(expected, "\(path) does not exist on this kernel")
        case .content(let bytes):
            running = String(String(decoding: bytes, as: UTF8.self).fields.joined(separator: " "))
        }
        let runningOK = matches(running)
        if !config.problems.isEmpty && runningOK {
            return unavailable(expected, "cannot read the sysctl configuration: " + config.problems.joined(separator: "; "))
        }
        if let missingAtBoot, persistedOK {
            let actual = "running \(running); after reboot absent (\(missingAtBoot) not loaded at boot)" + (decider.map { ", though \($0.location) sets \(kept($0.value))" } ?? "")
            let now = decider == nil ? "Right now (the kernel's default), but " : "Set now and persisted, but "
            return Outcome(
                status: runningOK ? .warn : .fail, expected: expected, actual: actual,
                message: (runningOK ? now : "Running value is \(running), expected \(check.value); and ")
                    + "\(missingAtBoot) is not loaded at boot (no /etc/modules-load.d entry), so the key does not exist when systemd-sysctl runs and the value will not hold after a reboot.",
                evidence: evidence, observation: observed(running))
        }
        let actual = "running \(running); after reboot \(persisted)"
        if runningOK && persistedOK {
            return Outcome(
                status: nowWrong ? .warn : .pass, expected: expected, actual: actual, message: notes.joined(separator: " "), evidence: evidence,
                observation: observed(running))
        }
        if !runningOK {
            notes.insert(
                persistedOK
                    ? (decider == nil
                        ? "Running value is \(running), expected \(check.value), the kernel's default, which a reboot restores."
                        : "Running value is \(running), but the files set \(check.value): apply them (sysctl --system).")
                    : "Running value is \(running), expected \(check.value).", at: 0)
        }
        return Outcome(
            status: .fail, expected: expected, actual: actual, message: notes.joined(separator: " "), evidence: evidence, observation: observed(running))
    }

    /// What to do for a kernel parameter, from what was seen: load the module that makes the key
    /// (now and at boot) where it is not; change the line that decides a wrong value where that
    /// is the guide's file or one read after it, else write the guide's file; then apply.
    func sysctlAdvice(_ o: SysctlObservation, module: String?) -> String {
        var steps: [String] = []
        if let module, !facts.isBuiltIn(module) {
            var absentAtBoot = false
            if case .absent = o.afterReboot { absentAtBoot = true }
            if !facts.isLoaded(module) || absentAtBoot {
                steps.append("load \(module) now and at boot (`modprobe \(module)`; `echo \(module) > /etc/modules-load.d/\(module).conf`)")
            }
        }
        if let line = o.wrongLineToChange {
            steps.append("change \(line) to `\(o.key) = \(o.wanted)`")
        } else {
            steps.append("write `\(o.key) = \(o.wanted)` to \(SysctlObservation.guideFile) (one setting per line)")
        }
        steps.append("run `sysctl --system`")
        return steps.joined(separator: ", then ")
    }
}
