/// A unified diff (as `diff -u` prints it, three lines of context) between a file's old and new
/// content, for the plan that `kcheck fix` shows before it changes anything.
public enum UnifiedDiff {
    /// Lines longer than this many in either file are summarised instead (the LCS table is
    /// old × new cells).
    static let maxLines = 4000

    public static func render(path: String, old: [UInt8]?, new: [UInt8]) -> String {
        let a = old.map(lines) ?? []
        let b = lines(new)
        var out = "--- \(old == nil ? "/dev/null" : path)\n+++ \(path)\n"
        guard a.count <= maxLines, b.count <= maxLines else {
            return out + "@@ \(a.count) lines → \(b.count) lines (too long to show) @@\n"
        }
        let ops = edits(a, b)
        // Group the edits into hunks with three lines of context; changes closer than twice the
        // context share a hunk.
        let changes = ops.indices.filter { ops[$0].kind != .same }
        var c = 0
        while c < changes.count {
            var last = changes[c]
            let first = changes[c]
            c += 1
            while c < changes.count && changes[c] - last <= 6 {
                last = changes[c]
                c += 1
            }
            let hunk = ops[max(first - 3, 0)..<min(last + 4, ops.count)]
            let oldLines = hunk.filter { $0.kind != .insert }
            let newLines = hunk.filter { $0.kind != .delete }
            let oldStart = oldLines.first.map { $0.oldLine + 1 } ?? hunk.first!.oldLine
            let newStart = newLines.first.map { $0.newLine + 1 } ?? hunk.first!.newLine
            out += "@@ -\(oldStart),\(oldLines.count) +\(newStart),\(newLines.count) @@\n"
            for op in hunk {
                switch op.kind {
                case .same: out += " " + a[op.oldLine] + "\n"
                case .delete: out += "-" + a[op.oldLine] + "\n"
                case .insert: out += "+" + b[op.newLine] + "\n"
                }
            }
        }
        if let old, old.last != 0x0A, !old.isEmpty { out += "\\ No newline at end of the old file\n" }
        return out
    }

    struct Edit {
        enum Kind { case same, delete, insert }
        let kind: Kind
        /// Positions in the old and new line arrays (for an insert, oldLine is where it goes).
        let oldLine: Int
        let newLine: Int
    }

    static func lines(_ bytes: [UInt8]) -> [String] { splitLines(bytes) }

    /// The shortest edit script by longest common subsequence.
    static func edits(_ a: [String], _ b: [String]) -> [Edit] {
        let n = a.count, m = b.count
        var lcs = [[Int32]](repeating: [Int32](repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        var ops: [Edit] = []
        var i = 0, j = 0
        while i < n || j < m {
            if i < n && j < m && a[i] == b[j] {
                ops.append(Edit(kind: .same, oldLine: i, newLine: j))
                i += 1
                j += 1
            } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
                ops.append(Edit(kind: .delete, oldLine: i, newLine: j))
                i += 1
            } else {
                ops.append(Edit(kind: .insert, oldLine: i, newLine: j))
                j += 1
            }
        }
        return ops
    }
}
