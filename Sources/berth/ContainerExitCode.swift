import BerthCore

/// The exit status of `berth run` and `berth exec` when the command never ran, as `docker
/// run` documents it: 125 when berth itself failed (a bad flag, an unknown network, a taken
/// port, a set-up error), 126 when the command cannot be invoked, 127 when it is not found.
/// Otherwise berth exits with the command's own status (128+N when signal N killed it).
enum ContainerExitCode {
    static let berthFailed: Int32 = 125
    static let cannotInvoke: Int32 = 126
    static let notFound: Int32 = 127

    /// BerthRun marks the command's own failures with the parameter `command`: not found
    /// (lookup, or exec's ENOENT: a missing loader) is 127; not executable, or exec refused,
    /// 126. A command that is missing or malformed in the options is berth's usage error, 125.
    static func status(for error: BerthError) -> Int32 {
        guard error.parameter == "command", error.code != .invalidArgument else { return berthFailed }
        return error.code == .notFound ? notFound : cannotInvoke
    }
}
