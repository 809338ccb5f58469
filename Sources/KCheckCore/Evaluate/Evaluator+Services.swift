import KCheckNative

extension Evaluator {
    /// The name a distribution uses, or an outcome saying why there is none.
    func distroName(_ name: DistroName, expected: String) throws(OutcomeError) -> String? {
        if let common = name.common { return common }
        switch facts.family {
        case .unavailable(let why): throw OutcomeError(outcome: unavailable(expected, why))
        case .available(let family): return name.name(for: family)
        }
    }

    func service(_ check: ServiceCheck) throws(OutcomeError) -> Outcome {
        let want = [
            check.running.map { $0 ? "running" : "stopped" }, check.enabled.map { $0 ? "enabled" : "disabled" },
        ].compactMap { $0 }.joined(separator: " and ")
        guard let name = try distroName(check.unit, expected: want) else {
            return Outcome(status: .skip, expected: want, actual: "n/a", message: "Not used on this distribution.")
        }
        let unit = Self.unitName(name)
        let expected = "\(unit) \(want)"
        let fileState = facts.unitFiles.state(of: unit)
        var activeState: String?
        if check.running != nil, fileState != .notFound, case .available(let state) = facts.activeState(of: unit) { activeState = state }
        let observed = Observation.service(ServiceObservation(unit: unit, unitFile: fileState, active: activeState))
        // What brings the unit to the state wanted, with the name this distribution gives it.
        let bringUp = check.running == true && check.enabled == true ? "systemctl enable --now \(name)"
            : check.running == true ? "systemctl start \(name)" : check.enabled == true ? "systemctl enable \(name)" : nil
        if fileState == .notFound {
            let needed = check.running == true || check.enabled == true
            guard needed else { return Outcome(status: .pass, expected: expected, actual: "not installed", message: "", observation: observed) }
            // Not a restart of a unit that does not exist: install it first, with this node's package manager.
            let package = try check.package.flatMap { p throws(OutcomeError) in try distroName(p, expected: expected) }
            let install = package.flatMap { p in self.facts.packageManager.map { $0.installText([p]) } }
            let advice = [install ?? "install the package that provides \(unit)", bringUp].compactMap { $0 }.joined(separator: " && ")
            return Outcome(
                status: .fail, expected: expected, actual: "not installed", message: "\(unit) is not installed: \(advice).", observation: observed,
                advice: advice)
        }
        var problems: [String] = []
        var commands: [String] = []
        var facts: [String] = []
        var unknown: String?
        if let enabled = check.enabled {
            facts.append(fileState.rawValue)
            let isEnabled = fileState == .enabled
            if isEnabled != enabled {
                commands.append("systemctl \(enabled ? "enable" : "disable") \(name)")
                problems.append(enabled ? "\(unit) is \(fileState.rawValue): run \(commands.last!)" : "\(unit) is enabled: run \(commands.last!)")
            }
        }
        if let running = check.running {
            switch self.facts.activeState(of: unit) {
            case .unavailable(let why):
                unknown = why
                facts.append("running state unknown")
            case .available(let state):
                facts.append(state)
                let isRunning = state == "active" || state == "activating" || state == "reloading"
                if isRunning != running {
                    commands.append("systemctl \(running ? "start" : "stop") \(name)")
                    problems.append("\(unit) is \(state): run \(commands.last!)")
                }
            }
        }
        let actual = facts.joined(separator: ", ")
        if !problems.isEmpty {
            var message = problems.joined(separator: "; ") + "."
            if let unknown { message += " (Whether it runs could not be checked: \(unknown).)" }
            return Outcome(status: .fail, expected: expected, actual: actual, message: message, observation: observed, advice: commands.joined(separator: " && "))
        }
        if let unknown {
            return Outcome(status: .error, expected: expected, actual: actual, message: "could not check whether \(unit) is running: \(unknown)", observation: observed)
        }
        return Outcome(status: .pass, expected: expected, actual: actual, message: "", observation: observed)
    }

    /// Synchronised as timedatectl judges it: STA_UNSYNC clear and maximum error under 16 s.
    func clockSynchronized() -> Outcome {
        let expected = "NTP-synchronised (max error < 16 s)"
        switch facts.clock {
        case .unavailable(let why): return unavailable(expected, why)
        case .available(let clock):
            let seconds = Double(clock.maxErrorMicroseconds) / 1_000_000
            if !clock.unsynchronisedFlag && clock.maxErrorMicroseconds < 16_000_000 {
                return Outcome(status: .pass, expected: expected, actual: "synchronised (max error \(seconds) s)", message: "")
            }
            let why = clock.unsynchronisedFlag ? "the kernel marks the clock unsynchronised" : "the maximum error is \(seconds) s"
            // What keeps it synchronised, as this node has it: chrony missing, stopped, or running.
            var advice = "check chrony's sources (`chronyc sources`, `chronyc tracking`) and that UDP 123 is reachable"
            if case .available(let family) = facts.family {
                let unit = family == .debian ? "chrony" : "chronyd"
                let state = facts.unitFiles.state(of: unit + ".service")
                if state == .notFound, let manager = facts.packageManager {
                    advice = manager.installText(["chrony"]) + " && systemctl enable --now \(unit)"
                } else if case .available(let active) = facts.activeState(of: unit + ".service"), active != "active" {
                    advice = "systemctl enable --now \(unit)"
                }
                advice += "; then `kcheck preflight --wait 5m` waits for it to synchronise"
            }
            return Outcome(
                status: .fail, expected: expected, actual: "not synchronised (\(why))",
                message: "The clock is not synchronised (\(why)); etcd needs synchronised clocks: \(advice).", advice: advice)
        }
    }

    func timezone(_ zone: String) -> Outcome {
        let expected = zone
        switch facts.node.readLink("/etc/localtime") {
        case .success(let target):
            let parts = target.split(separator: "/").map(String.init)
            guard let index = parts.lastIndex(of: "zoneinfo") else {
                return Outcome(status: .fail, expected: expected, actual: "link to \(target)", message: "/etc/localtime does not point into a zoneinfo directory.")
            }
            var name = Array(parts[(index + 1)...])
            if name.first == "posix" || name.first == "right" { name.removeFirst() }
            let actual = name.joined(separator: "/")
            if actual == zone { return Outcome(status: .pass, expected: expected, actual: actual, message: "") }
            return Outcome(status: .fail, expected: expected, actual: actual, message: "The time zone is \(actual): run timedatectl set-timezone \(zone).")
        case .failure(let error) where error.isNotFound:
            return Outcome(status: .fail, expected: expected, actual: "UTC (no /etc/localtime)", message: "No /etc/localtime: run timedatectl set-timezone \(zone).")
        case .failure:
            // A copied zone file rather than a link: compare its bytes with the zone's.
            let mine = facts.node.read("/etc/localtime", limit: 1 << 20)
            if case .unreadable(let why) = mine { return unavailable(expected, "/etc/localtime: \(why)") }
            let theirs = facts.node.read("/usr/share/zoneinfo/\(zone)", limit: 1 << 20)
            if case .content(let a) = mine, case .content(let b) = theirs, a == b {
                return Outcome(status: .pass, expected: expected, actual: "\(zone) (a copy of the zone file)", message: "")
            }
            return Outcome(
                status: .fail, expected: expected, actual: "a zone file other than \(zone)",
                message: "/etc/localtime is not the \(zone) zone: run timedatectl set-timezone \(zone).")
        }
    }

    func rtcUTC() throws(OutcomeError) -> Outcome {
        let expected = "RTC in UTC"
        let text = try readText("/etc/adjtime", expected: expected)
        guard let text else {
            return Outcome(status: .pass, expected: expected, actual: "UTC (no /etc/adjtime)", message: "")
        }
        let lines = numberedLines(Array(text.utf8))
        let mode = lines.count >= 3 ? String(lines[2].text.trimmed) : "UTC"
        if mode == "UTC" {
            return Outcome(status: .pass, expected: expected, actual: "UTC", message: "", evidence: lines.count >= 3 ? [SourceLocation(file: "/etc/adjtime", line: 3)] : [])
        }
        return Outcome(
            status: .fail, expected: expected, actual: mode,
            message: "The hardware clock keeps local time: run timedatectl set-local-rtc 0.",
            evidence: [SourceLocation(file: "/etc/adjtime", line: 3)])
    }

    func packages(_ names: [DistroName]) throws(OutcomeError) -> Outcome {
        let expected = "installed: " + names.map(\.description).joined(separator: ", ")
        var wanted: [String] = []
        for name in names {
            if let n = try distroName(name, expected: expected) { wanted.append(n) }
        }
        let expectedHere = "installed: " + wanted.joined(separator: " ")
        switch facts.installedPackages {
        case .unavailable(let why): return unavailable(expectedHere, why)
        case .available(let installed):
            let missing = wanted.filter { !installed.contains($0) }
            if missing.isEmpty { return Outcome(status: .pass, expected: expectedHere, actual: "all installed", message: "") }
            return Outcome(
                status: .fail, expected: expectedHere, actual: "missing: " + missing.joined(separator: " "),
                message: "Install \(missing.joined(separator: " ")).")
        }
    }

    func path(_ check: PathCheck) -> Outcome {
        var expected = "\(check.path) is a \(check.type.rawValue)"
        if let modeAny = check.modeAny { expected += " with mode bits 0\(String(modeAny, radix: 8))" }
        if let pattern = check.matches { expected += " matching /\(pattern)/" }
        let status: FileStatus
        switch facts.node.resolvedStatus(check.path) {
        case .failure(let error) where error.isNotFound:
            return Outcome(status: .fail, expected: expected, actual: "missing", message: "\(check.path) does not exist.")
        case .failure(let error):
            return unavailable(expected, error.description)
        case .success(let s): status = s
        }
        let wantKind: FileStatus.Kind = check.type == .file ? .regular : .directory
        guard status.kind == wantKind else {
            return Outcome(status: .fail, expected: expected, actual: "a \(status.kind.rawValue)", message: "\(check.path) is not a \(check.type.rawValue).")
        }
        var actual = "a \(check.type.rawValue), mode 0\(String(status.mode, radix: 8))"
        if let modeAny = check.modeAny, status.mode & modeAny == 0 {
            return Outcome(
                status: .fail, expected: expected, actual: actual,
                message: "\(check.path) has mode 0\(String(status.mode, radix: 8)): chmod +x it.")
        }
        if let pattern = check.matches {
            let regex: Regex
            switch self.regex(pattern) {
            case .failure(let error): return unavailable(expected, "invalid pattern /\(pattern)/: \(error)")
            case .success(let r): regex = r
            }
            let bytes: [UInt8]
            switch facts.node.read(check.path, limit: defaultReadLimit) {
            case .content(let b): bytes = b
            case .missing: return Outcome(status: .fail, expected: expected, actual: "missing", message: "\(check.path) does not exist.")
            case .unreadable(let why): return unavailable(expected, why)
            }
            do throws(RegexError) {
                guard let range = try regex.firstMatch(in: bytes) else {
                    return Outcome(status: .fail, expected: expected, actual: actual + ", no line matches", message: "No line of \(check.path) matches /\(pattern)/.")
                }
                let line = bytes[..<range.lowerBound].reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
                actual += ", matched at line \(line)"
                return Outcome(status: .pass, expected: expected, actual: actual, message: "", evidence: [SourceLocation(file: check.path, line: line)])
            } catch {
                return unavailable(expected, "matching /\(pattern)/: \(error)")
            }
        }
        return Outcome(status: .pass, expected: expected, actual: actual, message: "")
    }
}
