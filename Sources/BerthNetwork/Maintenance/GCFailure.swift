public import BerthCore

/// An endpoint or publication a full `gc` could not remove because a step of its teardown
/// failed (`GCReport.failed`): kept whole in the state, with whatever of it the failing step
/// left in the kernel, for the next `gc`. The others were collected all the same.
public struct GCFailure: Sendable, Hashable, CustomStringConvertible {
    /// Whether an endpoint or a publication, as `UncheckedNamespace` says it.
    public typealias Owner = UncheckedNamespace.Owner

    /// Whether an endpoint failed to go, or a publication.
    public var owner: Owner
    /// The endpoint's or publication's id.
    public var id: String
    /// Why: the failing step's error, whole (its code, object, operation and cause), for a
    /// front end to word and a program to branch on.
    public var error: BerthError

    /// The teardown of `owner` `id` failed with `error`.
    public init(owner: Owner, id: String, error: BerthError) {
        self.owner = owner
        self.id = id
        self.error = error
    }

    /// "endpoint ID: why", in the library's words.
    public var description: String { "\(owner.rawValue) \(id): \(error)" }

    /// Equal when they name the same owner and id, and their errors have the same code and
    /// words (a `BerthError`'s cause is any error, which has no equality of its own).
    public static func == (lhs: GCFailure, rhs: GCFailure) -> Bool {
        lhs.owner == rhs.owner && lhs.id == rhs.id && lhs.error.code == rhs.error.code && lhs.error.description == rhs.error.description
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(owner)
        hasher.combine(id)
        hasher.combine(error.code)
        hasher.combine(error.description)
    }
}
