import ArgumentParser
import KCheckCore
import KCheckNative

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", _superCommandName: "kcheck",
        abstract: "Render saved JSON reports in another format, or merge several nodes' reports into one.",
        discussion: """
            Reads kcheck's JSON reports (preflight, audit, fix, a cluster run) and writes them as \
            text, json, junit, markdown or html; several single-node reports become one report of \
            those nodes. Exit status: 0 every report passed; 1 one did not; 2 a file that is not a \
            kcheck report (with file:line:col) or a usage error.
            """)

    @Argument(help: ArgumentHelp("Saved JSON reports.", valueName: "FILE"))
    var files: [String]

    @Option(name: .long, help: ArgumentHelp("text, json, junit, markdown or html.", valueName: "FORMAT"))
    var format: ReportFormatArgument = .text

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to FILE instead of standard output.", valueName: "FILE"))
    var output: String?

    enum ReportFormatArgument: String, ExpressibleByArgument, CaseIterable {
        case text, json, junit, markdown, html
        var format: ReportFormat {
            switch self {
            case .text: .text
            case .json: .json
            case .junit: .junit
            case .markdown: .markdown
            case .html: .html
            }
        }
    }

    func validate() throws {
        if files.isEmpty { throw ValidationError("name one saved JSON report or more") }
    }

    func run() throws {
        var nodes: [(label: String, report: Report)] = []
        var clusters: [ClusterReport] = []
        for file in files {
            let bytes: [UInt8]
            switch Posix.readFile(file, limit: 512 << 20, followSymlinks: true) {
            case .success(let b): bytes = b
            case .failure(let error): throw CLIError.usage("\(error)")
            }
            do throws(ReportReader.Problem) {
                switch try ReportReader.read(String(decoding: bytes, as: UTF8.self), file: file) {
                case .node(let report):
                    var label = report.node.name
                    if nodes.contains(where: { $0.label == label }) { label += " (\(file))" }
                    nodes.append((label, report))
                case .cluster(let cluster): clusters.append(cluster)
                }
            } catch {
                throw CLIError.configuration("kcheck: \(error.description)")
            }
        }
        let options = RenderOptions(color: output == nil && format == .text && Posix.isTerminal(1) && (Posix.environment("NO_COLOR") ?? "").isEmpty)
        let text: String
        var failed: Bool
        if clusters.isEmpty && nodes.count == 1 {
            text = format.format.reporter.render(nodes[0].report, options: options)
            failed = nodes[0].report.failed
        } else {
            // Several nodes (and cluster reports) as one: their nodes side by side, their cluster rules together.
            let all = nodes + clusters.flatMap(\.nodes)
            let clusterEntries = clusters.flatMap(\.cluster.entries)
            let first = clusters.first?.cluster ?? all[0].report
            let cluster = Report(
                toolVersion: first.toolVersion, command: first.command, profile: first.profile,
                node: NodeIdentity(name: "cluster of \(all.count) nodes", source: "cluster", distribution: "", kernel: ""),
                startedAt: first.startedAt, durationSeconds: 0, entries: clusterEntries, policy: first.policy)
            let merged = ClusterReport(nodes: all, cluster: cluster)
            text = ClusterReporters.render(merged, format: format.format, options: options)
            failed = merged.failed
        }
        if let output {
            if case .failure(let error) = Posix.writeOutput(output, text: text) { throw CLIError.output("cannot write \(output): \(error)") }
        } else {
            Posix.printOut(text)
        }
        if failed { throw ExitCode(Exit.failed) }
    }
}
