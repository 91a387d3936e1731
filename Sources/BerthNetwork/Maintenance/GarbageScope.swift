import BerthCore

/// What a garbage collection may remove: every leftover, or only what one endpoint left.
enum GarbageScope {
    case all
    case endpoint(String)

    var coversAll: Bool {
        if case .all = self { true } else { false }
    }

    /// Whether objects of endpoint (or publication) `id` are in scope.
    func covers(endpoint id: String) -> Bool {
        switch self {
        case .all: true
        case .endpoint(let scoped): scoped == id
        }
    }

    /// The host veth named for the scope's endpoint; nil for every veth.
    var hostVeth: String? {
        get throws(BerthError) {
            guard case .endpoint(let id) = self else { return nil }
            return try KernelNames.hostVeth(forEndpoint: id).rawValue
        }
    }
}
