import Testing

/// The independent witnesses tests read the kernel and Berth's state through (`nft`, `ip`,
/// `berth ps`). A witness that fails is an issue of the test, never "nothing there": only
/// the witness's own answer for an absent object counts as absent.
extension HostSandbox {
    /// The output of `argv` run in the sandbox; records an issue (and returns what it
    /// printed) when it fails.
    public func witness(_ argv: [String], sourceLocation: SourceLocation = #_sourceLocation) -> String {
        let result = run(argv)
        if !result.succeeded { Issue.record("the witness failed: \(argv.joined(separator: " ")): \(result)", sourceLocation: sourceLocation) }
        return result.stdout
    }

    /// The output of `berth ARGS` in the sandbox; records an issue when it fails.
    public func berthWitness(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) -> String {
        let result = berth(args)
        if !result.succeeded { Issue.record("the witness failed: berth \(args.joined(separator: " ")): \(result)", sourceLocation: sourceLocation) }
        return result.stdout
    }

    /// `nft list table FAMILY NAME` in the sandbox: "" when nft says the table does not
    /// exist, an issue on any other failure.
    public func nftTable(_ family: String, _ name: String = "berth", sourceLocation: SourceLocation = #_sourceLocation) -> String {
        let result = run(["nft", "list", "table", family, name])
        if result.succeeded { return result.stdout }
        if result.stderr.hasPrefix("Error: No such file or directory") { return "" }
        Issue.record("the witness failed: nft list table \(family) \(name): \(result)", sourceLocation: sourceLocation)
        return result.stdout
    }
}
