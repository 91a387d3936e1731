public import BerthCore

/// When the supervisor starts a container's command again after it ends (`docker run
/// --restart`). Never after `Container.stop` or `Container.remove`: a container stopped on
/// purpose stays stopped, whatever its policy.
///
/// Between runs the supervisor waits, as Docker does: 100 ms, doubled after each quick end
/// (up to a minute), back to 100 ms once a run lasted 10 seconds.
public enum RestartPolicy: Sendable, Hashable, CustomStringConvertible {
    /// Never (the default).
    case no
    /// When the command exits with a status other than 0 (a signal counts), at most
    /// `maximumRetries` times when given.
    case onFailure(maximumRetries: Int?)
    /// Whatever the status.
    case always
    /// Whatever the status, until stopped on purpose: Docker's difference from `always` is
    /// that its daemon does not start such a container again at boot after a stop. Berth
    /// starts nothing at boot and a stop ends every policy, so it restarts as `always` does;
    /// it is kept apart for `inspect` and for scripts written for Docker.
    case unlessStopped

    /// `no`, `on-failure`, `on-failure:N`, `always` or `unless-stopped`, as Docker spells
    /// them; `on-failure:0` is `on-failure` (Docker enforces no maximum for a count of 0).
    public init(parsing text: String) throws(BerthError) {
        let hint = "use no, on-failure, on-failure:N, always or unless-stopped"
        switch text {
        case "no": self = .no
        case "always": self = .always
        case "unless-stopped": self = .unlessStopped
        case "on-failure", "on-failure:0": self = .onFailure(maximumRetries: nil)
        default:
            guard text.hasPrefix("on-failure:") else {
                throw .invalid("invalid restart policy \"\(text)\"", hint: hint, parameter: "restart")
            }
            guard let count = Int(text.dropFirst("on-failure:".count)), count >= 0 else {
                throw .invalid("invalid restart policy \"\(text)\": the retry count must be a number, 0 or more", hint: hint, parameter: "restart")
            }
            self = .onFailure(maximumRetries: count)
        }
    }

    public var description: String {
        switch self {
        case .no: "no"
        case .always: "always"
        case .unlessStopped: "unless-stopped"
        case .onFailure(nil): "on-failure"
        case .onFailure(let count?): "on-failure:\(count)"
        }
    }

    /// Whether a command that ended with `exit` after `restarts` restarts gets another run.
    public func restarts(after exit: ContainerExit, restarts: Int) -> Bool {
        switch self {
        case .no: false
        case .always, .unlessStopped: true
        case .onFailure(let maximum):
            exit != .exited(0) && (maximum.map { restarts < $0 } ?? true)
        }
    }

    /// The wait before restart number `restarts + 1`, given how long the last run lasted.
    static func delay(previous: Duration?, lastRun: Duration) -> Duration {
        guard let previous, lastRun < .seconds(10) else { return .milliseconds(100) }
        return min(previous * 2, .seconds(60))
    }
}
