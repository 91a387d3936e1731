public import BerthCore

extension BerthError {
    /// A lab file problem: `FILE:LINE:COLUMN: message`, so editors and people find the spot.
    public static func labFile(_ source: String, _ location: SourceLocation?, _ message: String, hint: String? = nil) -> BerthError {
        let place = location.map { "\(source):\($0)" } ?? source
        return BerthError(.invalidArgument, "\(place): \(message)", hint: hint, object: .file(source))
    }
}

extension BerthError.Object.Kind {
    /// A lab, by name.
    public static let lab = BerthError.Object.Kind(rawValue: "lab")
    /// A node of a lab, named `LAB:NODE`.
    public static let node = BerthError.Object.Kind(rawValue: "node")
}

extension BerthError.Object {
    public static func lab(_ name: String) -> BerthError.Object { BerthError.Object(.lab, name) }
    public static func node(lab: String, _ node: String) -> BerthError.Object { BerthError.Object(.node, "\(lab):\(node)") }
}

extension BerthError.Operation {
    public static let labUp = BerthError.Operation(rawValue: "lab up")
    public static let labDown = BerthError.Operation(rawValue: "lab down")
    public static let labGC = BerthError.Operation(rawValue: "lab gc")
    public static let labImpair = BerthError.Operation(rawValue: "lab impair")
    public static let labExec = BerthError.Operation(rawValue: "lab exec")
}

/// Why a failed `converge` left its lab part-way: going back to the previous spec failed
/// too. The cause of the error `converge` throws (`LabEngine.rollbackFailed`).
public struct LabRollbackFailure: Error, Sendable, CustomStringConvertible {
    /// The error of going back.
    public let error: BerthError
    /// The first error's own cause, if it had one.
    public let original: (any Error & Sendable)?

    public var description: String {
        (original.map { "\($0); " } ?? "") + "going back failed too, the lab is left part-way: \(error.message)"
    }
}

extension BerthError {
    /// This error, its undo having failed with `undo`: the lab is left part-way, for
    /// garbage collection to finish (its cause a `LabRollbackFailure`).
    func undoFailed(_ undo: BerthError) -> BerthError {
        BerthError(code, message, hint: hint, object: object, operation: operation, parameter: parameter, remedy: .collectGarbage,
                   cause: LabRollbackFailure(error: undo, original: cause))
    }
}
