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
}
