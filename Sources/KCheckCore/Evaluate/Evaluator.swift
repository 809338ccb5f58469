import KCheckNative

/// Evaluates rules against one node. Facts are read lazily and at most once per run; results are
/// new values, rules are never changed.
public final class Evaluator {
    let facts: NodeFacts
    private var regexCache: [String: Result<Regex, RegexError>] = [:]

    /// The cluster's inventory (environment.sh), when there is one.
    let inventory: Inventory?

    enum InventoryProblem {
        case unreadable(String)
        case unparsable(SourceError)
    }

    /// Without an inventory: why the node's own environment.sh gave none (nil when it is absent or
    /// parses and the caller chose to judge without it). Read once for every rule that asks.
    private(set) lazy var nodeInventoryProblem: InventoryProblem? = {
        switch facts.node.read(Inventory.nodePath, limit: defaultReadLimit) {
        case .missing: return nil
        case .unreadable(let why): return .unreadable(why)
        case .content(let bytes):
            do throws(SourceError) {
                _ = try Inventory.parse(bytes, path: Inventory.nodePath)
                return nil
            } catch {
                return .unparsable(error)
            }
        }
    }()

    /// The kernel the next boot starts (grub's default), read once for every module rule and the
    /// planner: grub's files are parsed once a run.
    private(set) lazy var bootKernelVersion: Fact<KernelVersion> = readBootKernelVersion()

    public init(node: Node, rules: [Rule], inventory: Inventory? = nil) {
        self.inventory = inventory
        var units: [String] = []
        var packages: Set<String> = []
        for rule in rules {
            switch rule.check {
            case .service(let service):
                for name in [service.unit.rhel, service.unit.debian].compactMap({ $0 }) where !units.contains(name) {
                    units.append(name)
                }
            case .packages(let names):
                for name in names { packages.formUnion([name.rhel, name.debian].compactMap { $0 }) }
            case .sysctl, .swapOff, .fstabNoSwap, .swapSources, .selinuxNotEnforcing, .selinuxConfig, .clockSynchronized, .timezone,
                .rtcUTC, .kernelMinimum, .kernelModule, .path, .hostnameInInventory, .hostsMatchInventory, .inventoryLintClean,
                .fileLintClean, .caCertificate, .caKey, .certificates, .certificateSANs, .portsFree, .cpusMinimum, .memoryMinimum,
                .cgroupVersion, .cgroupController, .componentFlag, .componentConfig, .hostnameValid, .hostnameResolves, .proxyBypass, .ipvsService,
                .firewallForwardAccept, .firewallFlushed, .bootKernelMinimum,
                .componentSockets, .encryptionConfig, .certificateSubject, .inventoryDirectories, .nginxStreamProxy, .loginPath, .componentTLS, .binaryVersion, .separateFilesystems:
                continue
            }
        }
        self.facts = NodeFacts(node: node, wantedUnits: units.map(Self.unitName), wantedPackages: packages)
    }

    /// Who is being checked.
    public var identity: NodeIdentity {
        let kernel: String
        switch facts.kernelRelease {
        case .available(let release): kernel = release
        case .unavailable: kernel = "unknown"
        }
        return NodeIdentity(name: facts.hostname, source: facts.node.source, distribution: facts.distributionName, kernel: kernel)
    }

    public func evaluate(_ rule: Rule) -> RuleResult {
        var outcome: Outcome
        do throws(OutcomeError) {
            switch rule.check {
            case .sysctl(let check):
                outcome = sysctl(check)
                if outcome.status == .fail || outcome.status == .warn, case .sysctl(let o)? = outcome.observation { outcome.advice = sysctlAdvice(o, module: check.module) }
            case .swapOff: outcome = try swapOff()
            case .fstabNoSwap: outcome = try fstabNoSwap()
            case .swapSources: outcome = swapSources()
            case .selinuxNotEnforcing: outcome = try selinuxNotEnforcing()
            case .selinuxConfig(let mode): outcome = try selinuxConfig(mode)
            case .service(let check): outcome = try service(check)
            case .clockSynchronized: outcome = clockSynchronized()
            case .timezone(let zone): outcome = timezone(zone)
            case .rtcUTC: outcome = try rtcUTC()
            case .kernelMinimum(let minimum): outcome = kernelMinimum(minimum)
            case .kernelModule(let check): outcome = kernelModule(check)
            case .packages(let names): outcome = try packages(names)
            case .path(let check): outcome = path(check)
            case .hostnameInInventory: outcome = try hostnameInInventory()
            case .hostsMatchInventory: outcome = try hostsMatchInventory()
            case .inventoryLintClean: outcome = inventoryLintClean()
            case .fileLintClean(let check): outcome = try fileLintClean(check)
            case .caCertificate(let check): outcome = try caCertificate(check)
            case .caKey(let check): outcome = try caKey(check)
            case .certificates(let check): outcome = certificates(check)
            case .certificateSANs(let check): outcome = try certificateSANs(check)
            case .portsFree(let ports): outcome = try portsFree(ports)
            case .cpusMinimum(let count): outcome = try cpusMinimum(count)
            case .memoryMinimum(let megabytes): outcome = try memoryMinimum(megabytes)
            case .cgroupVersion(let version): outcome = try cgroupVersion(version)
            case .cgroupController(let name): outcome = try cgroupController(name)
            case .proxyBypass: outcome = proxyBypass()
            case .ipvsService(let check): outcome = try ipvsInUse(check)
            case .bootKernelMinimum(let minimum): outcome = try bootKernelMinimum(minimum)
            case .componentSockets(let check): outcome = try componentSockets(check)
            case .encryptionConfig(let check): outcome = try encryptionConfig(check)
            case .certificateSubject(let check): outcome = try certificateSubject(check)
            case .inventoryDirectories(let names): outcome = inventoryDirectories(names)
            case .loginPath(let directory): outcome = loginPath(directory)
            case .separateFilesystems(let names): outcome = separateFilesystems(names)
            case .componentTLS(let check): outcome = try componentTLS(check)
            case .binaryVersion(let check): outcome = binaryVersion(check)
            case .nginxStreamProxy(let check): outcome = try nginxStreamProxy(check)
            case .firewallForwardAccept: outcome = try firewallForwardAccept()
            case .firewallFlushed(let tables, let until): outcome = try firewallFlushed(tables, until: until)
            case .hostnameValid: outcome = hostnameValid()
            case .hostnameResolves: outcome = try hostnameResolves()
            case .componentFlag(let check): outcome = try componentFlag(check)
            case .componentConfig(let check): outcome = try componentConfig(check)
            }
        } catch {
            outcome = error.outcome
        }
        return RuleResult(
            ruleID: rule.id, status: outcome.status, expected: outcome.expected, actual: outcome.actual,
            message: outcome.message, evidence: outcome.evidence, observation: outcome.observation, advice: outcome.advice)
    }

    public func evaluate(_ rules: [Rule]) -> [RuleResult] { rules.map(evaluate) }

    static func unitName(_ name: String) -> String { name.contains(".") ? name : name + ".service" }

    /// A result before it is tied to its rule.
    struct Outcome {
        var status: Status
        var expected: String
        var actual: String
        var message: String
        var evidence: [SourceLocation] = []
        var observation: Observation? = nil
        /// What to do on this node, computed from what was seen (nil: the rule's remediation holds).
        var advice: String? = nil
    }

    func unavailable(_ expected: String, _ why: String) -> Outcome {
        Outcome(status: .error, expected: expected, actual: "unknown", message: "could not check: \(why)")
    }

    /// Reads a file: nil when it is missing; unreadable ends the check as could-not-check.
    func readText(_ path: String, expected: String, limit: Int = defaultReadLimit) throws(OutcomeError) -> String? {
        switch facts.node.read(path, limit: limit) {
        case .content(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .missing: return nil
        case .unreadable(let why): throw OutcomeError(outcome: unavailable(expected, why))
        }
    }

    /// Ends a check early with its outcome (a fact could not be had).
    struct OutcomeError: Error { let outcome: Outcome }

    func regex(_ pattern: String) -> Result<Regex, RegexError> {
        if let cached = regexCache[pattern] { return cached }
        let result: Result<Regex, RegexError>
        do throws(RegexError) { result = .success(try Regex(pattern)) } catch { result = .failure(error) }
        regexCache[pattern] = result
        return result
    }
}
