import ArgumentParser
import KCheckCore
import KCheckNative

struct Certs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs", _superCommandName: "kcheck",
        abstract: "Inspect the cluster's certificates: validity, issuer, usages, SANs, keys, duplicate subjects.",
        discussion: """
            Reads every certificate (PEM, one or more per file, or DER) in the PATHs, on the node \
            (under --root). Each certificate is judged against the others: it must verify to a CA \
            among them, be valid now and for --warn-days more, fit its role's usages (told from its \
            cfssl file name: ca, etcd, kubernetes, admin, kube-proxy, …), match NAME-key.pem beside \
            it, and share its subject with no other certificate. Private key material is never \
            printed. Exit status: 0 all pass; 1 a certificate fails or a file cannot be read (see \
            --fail-on); 2 a usage error.
            """)

    @OptionGroup var node: NodeOptions
    @OptionGroup var reports: ReportOptions
    @OptionGroup var waiverOptions: WaiverOptions

    @Option(name: .long, help: ArgumentHelp("Warn when a certificate has fewer days left than this.", valueName: "DAYS"))
    var warnDays = 30

    @Option(name: .long, help: ArgumentHelp("Fail when a certificate has fewer days left than this.", valueName: "DAYS"))
    var failDays = 7

    @Argument(help: ArgumentHelp("Certificate files or directories on the node. Default: /etc/kubernetes/cert and /etc/etcd/cert.", valueName: "PATH"))
    var paths: [String] = []

    func validate() throws {
        guard warnDays >= 0, failDays >= 0 else { throw ValidationError("--warn-days and --fail-days cannot be negative") }
        guard failDays <= warnDays else { throw ValidationError("--fail-days (\(failDays)) must not exceed --warn-days (\(warnDays))") }
    }

    func run() throws {
        let started = Posix.wallClock()
        let clock = Posix.monotonicNanoseconds()
        let target = try node.node()
        var scanPaths = paths
        if node.root == nil {
            // On the live node, a relative PATH is relative to the working directory.
            let cwd = Posix.currentDirectory() ?? "/"
            scanPaths = paths.map { $0.hasPrefix("/") ? $0 : (cwd.hasSuffix("/") ? cwd : cwd + "/") + $0 }
        }
        // A long scan says how far it is on a terminal (standard error, one line rewritten; gone
        // when done): more than one batch of files.
        let onTerminal = Posix.isTerminal(2)
        var shown = false
        let progress: (Int, Int) -> Void = { done, total in
            guard onTerminal, total > 512 else { return }
            shown = true
            Posix.printError("\rkcheck: read \(done) of \(total) files")
        }
        var inventory = scanPaths.isEmpty
            ? CertificateInventory.scan(CertificateInventory.defaultPaths, on: target, required: false, progress: progress)
            : CertificateInventory.scan(scanPaths, on: target, progress: progress)
        if shown { Posix.printError("\r\u{1B}[K") }
        // A directory without the cluster's CA (/etc/etcd/cert alone): its certificates are
        // verified against the CA where the guide keeps it, not left "not verified".
        inventory.addIssuers(from: CertificateInventory.clusterCA, on: target)
        let judge = CertificateJudge(now: started.seconds, warnDays: warnDays, failDays: failDays)
        let identity = Evaluator(node: target, rules: []).identity
        let waivers = try waiverOptions.load(from: target, rules: node.rules)
        let report = Waivers.apply(
            waivers,
            to: judge.report(inventory, node: identity, policy: reports.policy, started: started, duration: Double(Posix.monotonicNanoseconds() - clock) / 1e9),
            names: [identity.name], now: started.seconds)
        // Failures and warnings first (by attention); passing certificates summarised unless --verbose.
        try reports.emit(report, command: "certs", problemsOnly: true)
        if report.failed { throw ExitCode(Exit.failed) }
    }
}
