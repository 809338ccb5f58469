/// grub's menu as the node will boot it (item 12): its entries from grub.cfg (or, on RHEL 8+, the
/// BLS entries grub.cfg's `blscfg` reads), the default grub will take and the kernel behind it.
/// Read only: grub.cfg is never regenerated, no tool is run.
struct GrubMenu: Equatable {
    struct Entry: Equatable {
        /// The titles from the top of the menu down to this entry (a submenu's, then the entry's).
        var path: [String]
        /// The `--id`/`$menuentry_id_option` of each level (a BLS entry: its file name).
        var ids: [String?]
        /// The position grub gives it: "2", or "1>3" inside a submenu.
        var position: String
        /// The kernel it boots: the file of its `linux` line (BLS: its `version`).
        var kernel: String?
        var location: SourceLocation

        var title: String { path.joined(separator: ">") }

        /// The kernel's release from its file name (/vmlinuz-4.4.218-1.el7.elrepo.x86_64).
        var release: String? {
            guard let kernel else { return nil }
            let name = kernel.split(separator: "/").last.map(String.init) ?? kernel
            return name.hasPrefix("vmlinuz-") ? String(name.dropFirst(8)) : name
        }
    }

    var entries: [Entry] = []
    /// grub.cfg reads its default from grubenv's saved_entry (`set default="${saved_entry}"`).
    var defaultIsSaved = false
    /// A literal `set default=` of grub.cfg.
    var defaultLiteral: String?
    /// grub.cfg reads BLS entries (`blscfg`).
    var usesBLS = false
    var file: String

    static let maximumEntries = 10_000
    static let maximumDepth = 16

    /// The arguments of a grub.cfg line, as grub's lexer splits them (quotes, backslashes).
    static func words(_ line: Substring) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escape = false
        for ch in line {
            if escape {
                current.append(ch)
                escape = false
                continue
            }
            if let q = quote {
                if ch == q { quote = nil } else if ch == "\\" && q == "\"" { escape = true } else { current.append(ch) }
                continue
            }
            switch ch {
            case "'", "\"":
                quote = ch
                inWord = true
            case "\\":
                escape = true
                inWord = true
            case " ", "\t":
                if inWord { words.append(current) }
                current = ""
                inWord = false
            case "#" where !inWord:
                return words
            default:
                current.append(ch)
                inWord = true
            }
        }
        if inWord { words.append(current) }
        return words
    }

    /// The menu of a grub.cfg. Blocks are followed by their braces: a `menuentry` or `submenu`
    /// line ending in `{` opens one, a line that is `}` closes the innermost.
    static func parse(_ bytes: [UInt8], file: String) throws(SourceError) -> GrubMenu {
        var menu = GrubMenu(file: file)
        enum Block { case submenu, entry, other }
        var stack: [Block] = []
        var submenuTitles: [(title: String, id: String?, position: Int, children: Int)] = []
        var topCount = 0
        var current: Entry?
        for (number, text) in numberedLines(bytes) {
            let line = text.trimmed
            if line == "}" {
                guard let block = stack.popLast() else { throw SourceError(file: file, line: number, column: 1, message: "a `}` closes no block") }
                switch block {
                case .entry:
                    if let entry = current { menu.entries.append(entry) }
                    current = nil
                case .submenu: submenuTitles.removeLast()
                case .other: break
                }
                continue
            }
            let words = Self.words(line)
            guard let command = words.first else { continue }
            if command == "blscfg" { menu.usesBLS = true }
            if command == "set" || command.hasPrefix("set ") || line.contains("set default=") {
                for assignment in words where assignment.hasPrefix("default=") {
                    let value = String(assignment.dropFirst(8))
                    if value == "${saved_entry}" || value == "$saved_entry" {
                        menu.defaultIsSaved = true
                    } else if stack.isEmpty && !value.hasPrefix("$") {  // "${next_entry}": a one-time boot
                        menu.defaultLiteral = value
                    }
                }
            }
            if ["linux", "linux16", "linuxefi"].contains(command), stack.last == .entry, words.count >= 2 {
                current?.kernel = words[1]
            }
            guard line.hasSuffix("{") else { continue }
            guard stack.count < maximumDepth else { throw SourceError(file: file, line: number, column: 1, message: "blocks nested deeper than \(maximumDepth)") }
            guard command == "menuentry" || command == "submenu", words.count >= 2, !stack.contains(.entry) else {
                stack.append(.other)
                continue
            }
            var id: String?
            for (i, word) in words.enumerated() where (word == "--id" || word == "$menuentry_id_option") && i + 1 < words.count {
                id = words[i + 1]
            }
            let position: Int
            if let parent = submenuTitles.last {
                position = parent.children
                submenuTitles[submenuTitles.count - 1].children += 1
            } else {
                position = topCount
                topCount += 1
            }
            let positions = submenuTitles.map { String($0.position) } + [String(position)]
            if command == "submenu" {
                stack.append(.submenu)
                submenuTitles.append((words[1], id, position, 0))
            } else {
                stack.append(.entry)
                current = Entry(
                    path: submenuTitles.map(\.title) + [words[1]], ids: submenuTitles.map(\.id) + [id], position: positions.joined(separator: ">"),
                    kernel: nil, location: SourceLocation(file: file, line: number))
                guard menu.entries.count < maximumEntries else { throw SourceError(file: file, line: number, column: 1, message: "more than \(maximumEntries) entries") }
            }
        }
        if !stack.isEmpty { throw SourceError(file: file, line: numberedLines(bytes).count, column: 1, message: "\(stack.count) block\(stack.count == 1 ? "" : "s") not closed") }
        return menu
    }

    /// A BLS entry (/boot/loader/entries/ID.conf): its title, version and kernel.
    static func blsEntry(_ bytes: [UInt8], id: String, file: String) -> Entry {
        var title = id, version: String?, linux: String?
        for (_, line) in numberedLines(bytes) {
            let fields = line.trimmed.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count == 2 else { continue }
            let value = String(fields[1]).trimmed
            switch fields[0] {
            case "title": title = String(value)
            case "version": version = String(value)
            case "linux": linux = String(value)
            default: break
            }
        }
        return Entry(path: [title], ids: [id], position: "", kernel: version.map { "/vmlinuz-" + $0 } ?? linux, location: SourceLocation(file: file, line: 1))
    }

    /// The entry grub takes for `spec`: a position ("1", "1>2"), or titles or ids joined by `>`.
    /// nil when nothing matches (grub then boots the first entry).
    func entry(for spec: String) -> Entry? {
        let parts = spec.split(separator: ">", omittingEmptySubsequences: false).map(String.init)
        if parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }) {
            return entries.first { $0.position == spec }
        }
        return entries.first { entry in
            entry.path.count == parts.count && zip(parts, zip(entry.path, entry.ids)).allSatisfy { part, level in part == level.0 || part == level.1 }
        }
    }
}

/// grubenv: `name=value` lines, the value the rest of the line (titles hold spaces), padded
/// with `#` to 1024 bytes.
enum GrubEnvironment {
    static func value(_ name: String, in bytes: [UInt8], file: String) -> (value: String, location: SourceLocation)? {
        var found: (String, SourceLocation)?
        for (number, line) in numberedLines(bytes) where line.hasPrefix(name + "=") {
            found = (String(line.dropFirst(name.count + 1)), SourceLocation(file: file, line: number))
        }
        return found
    }
}

/// Shell-style `NAME=value` files that are sourced, not run, by the tools that read them
/// (/etc/default/grub, /etc/sysconfig/kernel): the last assignment of each name, unquoted.
enum AssignmentFile {
    static func values(_ bytes: [UInt8], file: String) -> [String: (value: String, location: SourceLocation)] {
        var out: [String: (String, SourceLocation)] = [:]
        for (number, text) in numberedLines(bytes) {
            var line = text.trimmed
            if line.hasPrefix("export ") { line = line.dropFirst(7).trimmed }
            guard !line.hasPrefix("#"), let eq = line.firstIndex(of: "="), !line[..<eq].isEmpty,
                line[..<eq].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
            else { continue }
            var value = line[line.index(after: eq)...]
            if let first = value.first, first == "\"" || first == "'", value.count >= 2, value.last == first {
                value = value.dropFirst().dropLast()
            } else if let space = value.firstIndex(where: { $0 == " " || $0 == "#" }) {
                value = value[..<space]
            }
            out[String(line[..<eq])] = (String(value), SourceLocation(file: file, line: number))
        }
        return out
    }
}

/// The entry grub will boot by default, and how that was decided.
struct BootDefault {
    var menu: GrubMenu
    var entry: GrubMenu.Entry?
    /// The kernel release it boots.
    var release: String?
    /// How the default was chosen, for the message ("saved_entry=… in /boot/grub2/grubenv").
    var how: String
    /// Chosen by position (saved_entry=0, GRUB_DEFAULT=1): a new kernel's entry moves it.
    var byPosition: Bool
    var family: DistroFamily?
}

extension Evaluator {
    static let grubConfigs = ["/boot/grub2/grub.cfg", "/boot/grub/grub.cfg"]

    /// grub.cfg (the EFI one only where /boot has no other), or nil: the node does not boot
    /// through grub here.
    func grubConfig(_ expected: String) throws(OutcomeError) -> (path: String, bytes: [UInt8])? {
        var candidates = Self.grubConfigs
        if case .success(let vendors) = facts.node.list("/boot/efi/EFI") { candidates += vendors.map { "/boot/efi/EFI/\($0)/grub.cfg" } }
        for path in candidates {
            switch facts.node.read(path, limit: defaultReadLimit) {
            case .content(let bytes): return (path, bytes)
            case .missing: continue
            case .unreadable(let why): throw OutcomeError(outcome: unavailable(expected, "\(path): \(why)"))
            }
        }
        return nil
    }

    func bootDefault(_ expected: String) throws(OutcomeError) -> BootDefault? {
        guard let (path, bytes) = try grubConfig(expected) else { return nil }
        var menu: GrubMenu
        do throws(SourceError) {
            menu = try GrubMenu.parse(bytes, file: path)
        } catch {
            throw OutcomeError(outcome: unavailable(expected, error.description))
        }
        let directory = String(path[..<path.lastIndex(of: "/")!])
        if menu.usesBLS, case .success(let names) = facts.node.list("/boot/loader/entries") {
            var bls: [GrubMenu.Entry] = []
            for name in names where name.hasSuffix(".conf") {
                if case .content(let entry) = facts.node.read("/boot/loader/entries/" + name, limit: 64 << 10) {
                    bls.append(GrubMenu.blsEntry(entry, id: String(name.dropLast(5)), file: "/boot/loader/entries/" + name))
                }
            }
            // grub's blscfg lists the newest kernel first.
            bls.sort { a, b in
                let va = a.release.flatMap(KernelVersion.init(parsing:)), vb = b.release.flatMap(KernelVersion.init(parsing:))
                if let va, let vb, va != vb { return va > vb }
                return a.ids[0] ?? "" > b.ids[0] ?? ""
            }
            for i in bls.indices { bls[i].position = String(i) }
            menu.entries = Array(bls.prefix(GrubMenu.maximumEntries)) + menu.entries.map { e in var e = e; e.position = "m" + e.position; return e }
        }
        var saved: (value: String, location: SourceLocation)?
        if case .content(let env) = facts.node.read(directory + "/grubenv", limit: 64 << 10) {
            saved = GrubEnvironment.value("saved_entry", in: env, file: directory + "/grubenv")
        }
        let family = facts.family.value
        var spec: String, how: String
        if family == .debian {
            var settings: [String: (value: String, location: SourceLocation)] = [:]
            if case .content(let b) = facts.node.read("/etc/default/grub", limit: defaultReadLimit) {
                settings.merge(AssignmentFile.values(b, file: "/etc/default/grub")) { $1 }
            }
            if case .success(let names) = facts.node.list("/etc/default/grub.d") {
                for name in names where name.hasSuffix(".cfg") {
                    if case .content(let b) = facts.node.read("/etc/default/grub.d/" + name, limit: defaultReadLimit) {
                        settings.merge(AssignmentFile.values(b, file: "/etc/default/grub.d/" + name)) { $1 }
                    }
                }
            }
            let setting = settings["GRUB_DEFAULT"]
            let value = setting?.value ?? "0"
            let place = setting.map { " (\($0.location))" } ?? " (not set)"
            if value == "saved" {
                spec = saved?.value ?? "0"
                how = "GRUB_DEFAULT=saved\(place), " + (saved.map { "saved_entry=\($0.value) (\($0.location))" } ?? "no saved_entry: the first entry")
            } else if value == "0" {
                // update-grub makes the newest kernel in /boot the first entry.
                if case .success(let files) = facts.node.list("/boot") {
                    let kernels = files.filter { $0.hasPrefix("vmlinuz-") }.map { String($0.dropFirst(8)) }
                    if let newest = kernels.max(by: { (KernelVersion(parsing: $0) ?? KernelVersion([0])) < (KernelVersion(parsing: $1) ?? KernelVersion([0])) }) {
                        let entry = menu.entries.first { $0.release == newest }
                        return BootDefault(
                            menu: menu, entry: entry, release: newest,
                            how: "GRUB_DEFAULT=0\(place): update-grub makes the newest kernel in /boot, /boot/vmlinuz-\(newest), the first entry",
                            byPosition: false, family: family)
                    }
                }
                spec = "0"
                how = "GRUB_DEFAULT=0\(place): the first entry"
            } else {
                spec = value
                how = "GRUB_DEFAULT=\(value)\(place)"
            }
        } else if menu.defaultIsSaved || menu.usesBLS {
            spec = saved?.value ?? "0"
            how = saved.map { "saved_entry=\($0.value) (\($0.location))" } ?? "no saved_entry in \(directory)/grubenv: the first entry"
        } else {
            spec = menu.defaultLiteral ?? "0"
            how = menu.defaultLiteral.map { "set default=\($0) in \(path)" } ?? "no default set in \(path): the first entry"
        }
        let byPosition = !menu.usesBLS && spec.split(separator: ">").allSatisfy { $0.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } } && !spec.isEmpty
            && !(family == .debian && spec == "0")
        // grub boots the first entry when the default names none.
        var entry = menu.entry(for: spec)
        if entry == nil {
            entry = menu.entries.first
            if spec != "0" { how += ", which names no entry: grub boots the first one" }
        }
        return BootDefault(menu: menu, entry: entry, release: entry?.release, how: how, byPosition: byPosition, family: family)
    }

    /// Item 12: the kernel grub boots by default is at least `minimum`, chosen by title.
    func bootKernelMinimum(_ minimum: KernelVersion) throws(OutcomeError) -> Outcome {
        let expected = "grub's default entry boots a kernel >= \(minimum)"
        guard let boot = try bootDefault(expected) else {
            return Outcome(
                status: .skip, expected: expected, actual: "no grub configuration",
                message: "No grub.cfg under /boot: the node does not boot through grub here (a container, a VM given its kernel, an EFI stub)")
        }
        guard let release = boot.release, let version = KernelVersion(parsing: release) else {
            return unavailable(expected, "grub's default entry (\(boot.how)) boots no kernel kcheck can name")
        }
        let title = boot.entry?.title ?? "vmlinuz-\(release)"
        let actual = "\(release) ('\(title)')"
        let evidence = boot.entry.map { [$0.location] } ?? []
        if version < minimum {
            let newer = boot.menu.entries.filter { ($0.release.flatMap(KernelVersion.init(parsing:)) ?? KernelVersion([0])) >= minimum }
            guard let best = newer.max(by: { ($0.release.flatMap(KernelVersion.init(parsing:)) ?? KernelVersion([0])) < ($1.release.flatMap(KernelVersion.init(parsing:)) ?? KernelVersion([0])) }) else {
                return Outcome(
                    status: .fail, expected: expected, actual: actual,
                    message: "grub boots \(release) by default (\(boot.how)) and no entry boots a kernel >= \(minimum): install one (on CentOS 7, kernel-lt from elrepo), then make it the default by its title.",
                    evidence: evidence)
            }
            let advice: String
            if boot.menu.usesBLS {
                advice = "Make '\(best.title)' the default: grubby --set-default /boot/vmlinuz-\(best.release ?? "")"
            } else if boot.family == .debian, boot.menu.entries.first?.release == best.release {
                advice = "Boot the newest kernel, \(best.release ?? ""): GRUB_DEFAULT=0 in /etc/default/grub (update-grub puts the newest kernel first), then run update-grub"
            } else if boot.family == .debian {
                advice = "Make '\(best.title)' the default: GRUB_DEFAULT=\"\(best.title)\" in /etc/default/grub, then run update-grub"
            } else {
                advice = "Make '\(best.title)' the default by its title, not its position: grub2-set-default '\(best.title)' (it writes saved_entry to grubenv; on EFI grubenv is a link into /boot/efi)"
            }
            return Outcome(
                status: .fail, expected: expected, actual: actual,
                message: "grub boots \(release) by default (\(boot.how)): the next reboot brings back a kernel older than \(minimum), whatever runs now. \(advice).",
                evidence: evidence)
        }
        var warnings: [String] = []
        if boot.byPosition {
            warnings.append("the default is a position (\(boot.how)), as the guide's `grub2-set-default 0` leaves it: a kernel update adds its entry at the top and the position then boots another kernel. Set it by title: grub2-set-default '\(title)'")
        }
        if boot.family != .debian, release.contains("elrepo"), case .content(let bytes) = facts.node.read("/etc/sysconfig/kernel", limit: 64 << 10),
            let setting = AssignmentFile.values(bytes, file: "/etc/sysconfig/kernel")["DEFAULTKERNEL"], setting.value == "kernel"
        {
            warnings.append("DEFAULTKERNEL=kernel (\(setting.location)): the next update of the kernel package makes its new 3.10 kernel the default. Name the package of the kernel that boots: DEFAULTKERNEL=kernel-lt (or kernel-ml)")
        }
        if !warnings.isEmpty {
            return Outcome(status: .warn, expected: expected, actual: actual, message: "grub boots \(release) now, but " + warnings.joined(separator: "; and ") + ".", evidence: evidence)
        }
        return Outcome(status: .pass, expected: expected, actual: actual, message: "", evidence: evidence)
    }
}
