import BerthCore
import BerthLab

/// How `berth lab` words a `BerthError`: the library's message and cause, then advice in
/// the CLI's own terms — a command to run — from the error's `remedy`, else the library's
/// hint. BerthLab names no command; this is where lab errors get one.
enum LabHints {
    /// `MESSAGE[: CAUSE][ (ADVICE)]`, the line printed after `berth lab: `.
    static func message(for error: BerthError) -> String {
        var text = error.message
        if let cause = error.cause as? BerthError {
            text += ": " + message(for: cause)
        } else if let cause = error.cause {
            text += ": \(cause)"
        }
        if let advice = advice(for: error) { text += " (\(advice))" }
        return text
    }

    static func advice(for error: BerthError) -> String? {
        if error.operation == .labExec, error.parameter == "command" { return "give the command after the node: berth lab exec LAB NODE COMMAND [ARG...]" }
        guard let remedy = error.remedy else { return error.hint }
        switch remedy {
        case .collectGarbage: return "run 'berth gc' (or 'berth lab gc') to remove leftovers"
        case .reconcile: return "run 'berth reconcile' to restore what the kernel lost"
        case .detachEndpoints:
            // As the CLI words it (CLIHints): the ids come from ps, for the network when it is named.
            let listing = error.object?.kind == .network ? "'berth ps --network \(error.object?.name ?? "")'" : "'berth ps'"
            return "detach them first with 'berth detach' and their ids, as \(listing) lists them"
        // The library's hint says what to choose in its own words ("choose another host port in
        // node web's publish: entry"); the parameter's name is a Swift field's.
        case .chooseAnother(let parameter): return error.hint ?? "choose another \(Self.words(for: parameter))"
        case .give, .leaveOut: return error.hint ?? remedy.description
        case .privilege(let capability): return "run as root or with \(capability)"
        case .listExisting(let kind):
            switch kind {
            case .lab: return "see 'berth lab ls'"
            case .network: return "see 'berth network ls'"
            case .container: return "see 'berth ps -a'"
            case .endpoint: return "see 'berth ps'"
            case .namespace: return "see 'berth netns ls'"
            default: return error.hint ?? remedy.description
            }
        case .remove(let object):
            switch object.kind {
            case .namespace: return "remove it first with 'berth netns del \(object.name)'"
            case .container: return "remove it first with 'berth rm -f \(object.name)'"
            case .network: return "remove it first with 'berth network rm \(object.name)'"
            default: return error.hint ?? remedy.description
            }
        case .stop(let object):
            if object.kind == .container { return "stop it first with 'berth stop \(object.name)'" }
            return error.hint ?? remedy.description
        }
    }

    /// A library parameter in words (`ports` → "host port"): the CLI's advice names no Swift field.
    static func words(for parameter: String) -> String {
        switch parameter {
        case "ports", "publish": "host port"
        case "ipv6Address": "IPv6 address"
        default: parameter
        }
    }
}
