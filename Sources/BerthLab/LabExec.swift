#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CBerthShim
public import BerthCore
import BerthNamespace
import BerthNetlink
import BerthNetwork

/// Runs a program inside a node, as `ip netns exec` does.
public enum LabExec {
    /// Replaces this process with `argv` (searched on PATH) in the node's network namespace,
    /// with a private mount namespace whose /sys is remounted so that sysfs shows the
    /// node's links. Changing namespace on the calling thread is safe here only because
    /// the process execs right after: call it from a single-threaded command-line front end.
    /// If the exec fails, the error is thrown with the thread still in the node's network
    /// and mount namespaces: the front end reports it and exits (berth-lab does), never
    /// goes on with other work.
    ///
    /// The namespace `LAB-NODE` is entered only if its `lo` carries the node's tag for the
    /// state store in `stateDirectory` (`StateStore.resolveDirectory`): a namespace someone
    /// else made under that name, or another lab's node whose name concatenates the same
    /// (lab `a-b`'s node `c` for lab `a`, node `b-c`), is not the node. The tag is read from
    /// a socket opened in the namespace by a short-lived thread, before this thread moves.
    public static func exec(lab: String, node: String, stateDirectory: String? = nil, argv: [String]) throws(BerthError) -> Never {
        guard !argv.isEmpty else {
            throw BerthError(.invalidArgument, "no command to run in node \(node)", hint: "give the command and its arguments",
                             object: .node(lab: lab, node), operation: .labExec, parameter: "command")
        }
        let name = LabNames.namespace(lab: lab, node: node)
        let namespace: NetworkNamespace
        do throws(BerthError) {
            namespace = try NetworkNamespace.open(named: name)
        } catch where error.code == .notFound {
            throw BerthError(.notFound, "lab \(lab) has no node \(node) (no network namespace \(name))", hint: "check the lab and node names, or bring the lab up",
                             object: .node(lab: lab, node), operation: .labExec)
        }
        try checkTag(of: namespace, lab: lab, node: node, stateTag: LabEngine.stateTag(directory: StateStore.resolveDirectory(stateDirectory)))
        guard berth_setns(namespace.descriptor, BERTH_CLONE_NEWNET) == 0 else { throw .system("enter network namespace \(name)", .current) }
        // Best effort, as iproute2: without it the command still runs, with the host's sysfs.
        // Only once / is a slave: unmounting /sys in a mount namespace whose mounts still
        // propagate (shared) would take the parent's /sys away too; iproute2 stops there.
        if berth_unshare(BERTH_CLONE_NEWNS) == 0, mount("", "/", nil, UInt(MS_SLAVE) | UInt(MS_REC), nil) == 0 {
            _ = umount2("/sys", Int32(MNT_DETACH))
            _ = mount(name, "/sys", "sysfs", 0, nil)
        }
        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArguments.append(nil)
        execvp(argv[0], &cArguments)
        let error = Errno.current
        throw BerthError(error.code == ENOENT ? .notFound : .system, "cannot run \(argv[0]) in node \(node): \(error)",
                         hint: error.code == ENOENT ? "check the command's name and PATH" : nil)
    }

    /// Refuses `namespace` unless its `lo` carries the tag of node `node` of lab `lab` in the
    /// state store tagged `stateTag`: the error is the one for a node that does not exist,
    /// naming what the namespace is instead.
    static func checkTag(of namespace: NetworkNamespace, lab: String, node: String, stateTag: String) throws(BerthError) {
        let alias: String?
        do throws(BerthError) {
            alias = try RouteNetlink(namespace: namespace).link(index: 1).alias
        } catch where error.code == .notFound {
            alias = nil
        }
        guard alias != LabNames.nodeAlias(lab: lab, node: node, state: stateTag) else { return }
        let name = LabNames.namespace(lab: lab, node: node)
        let what = LabObserver.holder(alias: alias, lab: lab, node: node, stateTag: stateTag).map { "is \($0)" } ?? "is not tagged as a lab's node"
        throw BerthError(.notFound, "lab \(lab) has no node \(node) (network namespace \(name) \(what))", hint: "check the lab and node names, or bring the lab up",
                         object: .node(lab: lab, node), operation: .labExec)
    }
}
