/// Writing to the terminal: aligned columns like `ip -br` and JSON (errors and the exit are
/// BerthCommandLine's, shared with the lean binary).
extension Output {
    /// Prints rows under a header, each column as wide as its widest cell, two spaces apart.
    static func table(_ header: [String], _ rows: [[String]]) {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        for row in [header] + rows {
            var line = ""
            for (i, cell) in row.enumerated() {
                line += cell
                if i < row.count - 1 { line += String(repeating: " ", count: widths[i] - cell.count + 2) }
            }
            print(line)
        }
    }

    static func json(_ value: JSON) {
        print(value.render(pretty: true))
    }

}
