#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore

/// The open-file budget of a convergence. `converge` keeps every node's namespace handle and
/// netlink socket open until it is done (two descriptors a node), so a big lab needs more
/// than the usual soft limit of 1,024: past it the kernel says EMFILE part-way through, and
/// going back can fail the same way. Before anything is made, the soft limit is raised
/// towards the hard one as far as the lab needs (only then: the containers a lab starts
/// inherit it), and a lab that still does not fit is refused.
public enum LabFileLimit {
    /// Descriptors a node holds while a convergence runs: its namespace and its rtnetlink socket.
    public static let perNode = 2
    /// Descriptors for the rest: the state store and its lock, standard streams, a
    /// namespace's sysctl writes, a container's supervisor being started.
    public static let margin = 64

    /// Descriptors a convergence over `nodes` nodes needs.
    public static func needed(nodes: Int) -> Int { nodes * perNode + margin }

    /// Why `nodes` nodes do not fit a soft limit of `soft` (after raising it as far as
    /// `hard` allows), if they do not.
    public static func problem(nodes: Int, soft: UInt64, hard: UInt64) -> String? {
        let need = UInt64(needed(nodes: nodes))
        guard need > soft else { return nil }
        return "a lab of \(nodes) nodes needs \(need) open files while it converges (\(perNode) a node and \(margin) more), "
            + "and this process may open \(soft) (RLIMIT_NOFILE, hard limit \(hard))"
    }

    /// Raises the soft open-file limit to what `nodes` nodes need, as far as the hard limit
    /// allows, and throws if it is still too low. Nothing else is changed.
    public static func reserve(nodes: Int, lab: String, operation: BerthError.Operation) throws(BerthError) {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return }
        let need = UInt64(needed(nodes: nodes))
        if limit.rlim_cur != unlimited, need > UInt64(limit.rlim_cur) {
            var raised = limit
            raised.rlim_cur = limit.rlim_max == unlimited ? rlim_t(need) : min(rlim_t(need), limit.rlim_max)
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        let soft = limit.rlim_cur == unlimited ? UInt64.max : UInt64(limit.rlim_cur)
        let hard = limit.rlim_max == unlimited ? UInt64.max : UInt64(limit.rlim_max)
        if let problem = problem(nodes: nodes, soft: soft, hard: hard) {
            throw BerthError(.unsupported, "lab \(lab): \(problem); nothing was made",
                             hint: "raise the hard open-file limit (RLIMIT_NOFILE) to at least \(need), or split the lab",
                             object: .lab(lab), operation: operation, parameter: "nodes")
        }
    }

    /// RLIM_INFINITY (all ones on Linux), which Swift does not import as a constant.
    private static let unlimited = rlim_t.max

    #if canImport(Glibc)
    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resource = RLIMIT_NOFILE
    #endif
}
