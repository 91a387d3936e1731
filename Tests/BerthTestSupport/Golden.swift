import Testing

/// Compares line by line so a failure points at the line that differs.
public func expectGolden(_ actual: String, _ golden: String, sourceLocation: SourceLocation = #_sourceLocation) {
    if actual == golden { return }
    let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
    let g = golden.split(separator: "\n", omittingEmptySubsequences: false)
    for i in 0..<max(a.count, g.count) {
        let left = i < a.count ? String(a[i]) : "<none>"
        let right = i < g.count ? String(g[i]) : "<none>"
        if left != right {
            Issue.record("golden differs at line \(i + 1):\n  actual: \(left)\n  golden: \(right)\n--- actual ---\n\(actual)", sourceLocation: sourceLocation)
            return
        }
    }
}
