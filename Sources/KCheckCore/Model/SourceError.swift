/// A problem at a place in a file: rule files, environment.sh, the facts file.
public struct SourceError: Error, Equatable, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int
    public let message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// "file:line:col: error: message", as compilers print it; "file: error: message" for a
    /// problem with the whole file (line 0).
    public var description: String { line == 0 ? "\(file): error: \(message)" : "\(file):\(line):\(column): error: \(message)" }
}

/// A syntax error from a parser that reads text without knowing its file (1-based line and
/// column; columns count characters).
public struct SyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public let message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "\(line):\(column): \(message)" }

    public func located(in file: String) -> SourceError {
        SourceError(file: file, line: line, column: column, message: message)
    }
}
