import KCheckNative

enum KCheckNativeCalendar {
    static func utc(_ seconds: Int64) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        Posix.utcCalendar(seconds)
    }
}

/// Options that affect how a report is rendered for people.
public struct RenderOptions: Sendable {
    public var color: Bool
    /// Text only: the results that need a person (fail, warn, could not check); the others are
    /// counted in one line (`audit --quiet`, the mail cron sends).
    public var problemsOnly: Bool
    /// Text only: every result with what was expected and seen and the rule's remediation.
    public var verbose: Bool
    /// Text only: a node's report inside a cluster's (the next step is said once, for the cluster).
    public var cluster: Bool
    public init(color: Bool = false, problemsOnly: Bool = false, verbose: Bool = false, cluster: Bool = false) {
        self.color = color
        self.problemsOnly = problemsOnly
        self.verbose = verbose
        self.cluster = cluster
    }
}

/// A report format. One small type per format; the core renders text, the CLI writes it.
public protocol Reporter {
    /// The file extension for --output-dir.
    static var fileExtension: String { get }
    static func render(_ report: Report, options: RenderOptions) -> String
}

/// The formats kcheck writes. An exhaustive switch picks the reporter, so a new format does not
/// compile until it has one.
public enum ReportFormat: String, CaseIterable, Sendable {
    case text, json, junit, markdown, html

    public var reporter: any Reporter.Type {
        switch self {
        case .text: TextReporter.self
        case .json: JSONReporter.self
        case .junit: JUnitReporter.self
        case .markdown: MarkdownReporter.self
        case .html: HTMLReporter.self
        }
    }
}
