public import BerthCore
public import BerthNetwork

/// How the hook words an error on stderr, which the runtime shows its user: the library's
/// message, then advice in the hook's own terms — annotations, the runtime, `berth gc` —
/// built from the error's `remedy` and `parameter`, never the CLI flags a library hint
/// may name.
public enum HookMessages {
    /// `berth-oci-hook: createRuntime: container c1: <message> (<advice>)`; the container is
    /// `container`, else the error's object when that is a container.
    public static func describe(_ error: BerthError, stage: HookStage?, container: String? = nil) -> String {
        var text = "berth-oci-hook: "
        if let stage { text += "\(stage): " }
        let id = container ?? error.object.flatMap { $0.kind == .container ? $0.name : nil }
        if let id, !error.message.containsBytes(of: id) {
            text += "container \(id): "
        }
        text += error.message
        if let cause = error.cause { text += ": \(cause)" }
        if let advice = advice(for: error) { text += " (\(advice))" }
        return text
    }

    /// The one line a `poststop` prints on success: endpoint `endpoint` was kept, since the
    /// container joined a namespace that is still in use (`OCIHook.Outcome.kept`).
    public static func kept(_ endpoint: EndpointRecord) -> String {
        "berth-oci-hook: poststop: container \(endpoint.id): endpoint \(endpoint.id) stays while its network namespace \(endpoint.namespacePath) "
            + "is in use (the container joined it; other containers may share it): berth gc removes the endpoint once that namespace is gone"
    }

    /// The one line a `poststop` prints when endpoint `endpoint`, recorded under the stopped
    /// container's id, is another container's (`OCIHook.Outcome.held`): its namespace is
    /// alive and wired, or its fate cannot be told.
    public static func held(_ endpoint: EndpointRecord) -> String {
        "berth-oci-hook: poststop: container \(endpoint.id): endpoint \(endpoint.id) stays: it is attached to network namespace \(endpoint.namespacePath), "
            + "which is alive and wired (or cannot be checked) and is not this stopped container's: another container with id \(endpoint.id) holds it "
            + "(container ids are unique only within one runtime root; this one was not attached)"
    }

    /// Advice for `error` in the hook's terms, when there is any.
    static func advice(for error: BerthError) -> String? {
        if error.object == OCIState.object {
            return "an OCI runtime writes the container's state to the hook's stdin: run berth-oci-hook from a runtime's hooks"
        }
        if error.code == .alreadyExists, error.remedy == .chooseAnother(parameter: "interfaceName") {
            return interfaceClash(error.object?.kind == .link ? error.object?.name : nil)
        }
        if error.parameter == "linux.namespaces", error.object?.kind == .container {
            return noNamespaceOfItsOwn
        }
        if let remedy = error.remedy { return words(for: remedy, object: error.object) }
        if let parameter = error.parameter, let annotation = annotation(for: parameter) {
            if let hint = error.hint, !mentionsFlag(hint) { return "\(hint) in annotation \(annotation)" }
            return "fix annotation \(annotation)"
        }
        if let hint = error.hint, !mentionsFlag(hint) { return hint }
        switch error.code {
        case .permissionDenied: return "the runtime must run the hook as root"
        case .state, .alreadyExists: return "leftovers of a crash are in the way: the next poststop for that container, or Berth's garbage collection in the host's network namespace, removes them"
        default: return nil
        }
    }

    /// The container's namespace has the hook's interface name (eth0) already: no
    /// annotation chooses another, so the advice names the likely cause — a namespace
    /// that its engine set up, or that another container shares.
    static func interfaceClash(_ name: String?) -> String {
        "the container's network namespace has an \(name ?? "eth0") already, so it is not a namespace of its own with no other network: "
            + "run the container with --network none, not with docker's --network container:NAME or as a second annotated container of a podman pod"
    }

    /// The container shares the host's network namespace (config.json's linux.namespaces
    /// has no network entry): the library's hint names flags, so the fix is worded here.
    static let noNamespaceOfItsOwn =
        "run the container with --network none (docker, podman) or give it a network entry in linux.namespaces"

    /// `remedy` in the hook's words; `object` is the error's (an endpoint's id goes into the
    /// advice that frees it).
    static func words(for remedy: BerthError.Remedy, object: BerthError.Object? = nil) -> String {
        switch remedy {
        case .collectGarbage:
            return "leftovers of a crash are in the way: the next poststop for that container, or Berth's garbage collection in the host's network namespace, removes them"
        case .reconcile:
            return "the kernel lost objects Berth recorded: Berth's reconcile in the host's network namespace restores them"
        case .detachEndpoints:
            return "delete the containers attached to it first"
        case .remove(let object) where object.kind == .endpoint:
            return "delete container \(object.name) first, or detach its endpoint (id \(object.name))"
        case .remove(let object):
            return "remove \(object) first"
        case .stop(let object):
            return "stop \(object) first"
        case .chooseAnother(parameter: "id"):
            return "another container holds that id: run this one under another container id, or delete the other container first "
                + "(if it is gone and only its namespace is left, as when its runtime died before poststop, "
                + "'berth detach \(object?.kind == .endpoint ? object?.name ?? "ID" : "ID")' frees the id)"
        case .chooseAnother(let parameter):
            if let annotation = annotation(for: parameter) { return "choose another value in annotation \(annotation)" }
            return "choose another \(parameter)"
        case .privilege(let capability):
            return "the runtime must run the hook as root or with \(capability)"
        case .listExisting(let kind) where kind == .network:
            return "create that network first, or leave annotation \(HookAnnotations.network) out for the default network"
        case .listExisting(let kind) where kind == .namespace:
            // The hook names no namespace but the one config.json or the container's process
            // gives it: when that is gone, there is nothing to choose among.
            return "the network namespace path in config.json's linux.namespaces, or the container's process, is gone"
        case .listExisting(let kind):
            return "choose one of the existing \(kind.rawValue)s"
        case .give(let parameter):
            if let annotation = annotation(for: parameter) { return "give annotation \(annotation)" }
            return "give \(parameter)"
        case .leaveOut(let parameter):
            if let annotation = annotation(for: parameter) { return "leave annotation \(annotation) out" }
            return "leave \(parameter) out"
        }
    }

    /// The annotation that sets an `AttachOptions` field (or names itself).
    static func annotation(for parameter: String) -> String? {
        switch parameter {
        case "network": HookAnnotations.network
        case "ports", "publish": HookAnnotations.publish
        case "address", "ip": HookAnnotations.ip
        case "ipv6Address", "ip6": HookAnnotations.ip6
        case "mac": HookAnnotations.mac
        case "name": HookAnnotations.name
        case "alias", "aliases": HookAnnotations.aliases
        case _ where HookAnnotations.all.contains(parameter): parameter
        default: nil
        }
    }

    /// Whether a library hint names a CLI flag or command, which means nothing to a hook's user.
    static func mentionsFlag(_ hint: String) -> Bool {
        hint.containsBytes(of: "--") || hint.containsBytes(of: "'berth ") || hint.containsBytes(of: " -p")
    }
}
