/// The undo steps of an operation that makes several things in turn: each step that
/// succeeds registers how to take itself back, and a failure takes back every registered
/// step, newest first, so nothing is left half-made.
///
/// ```swift
/// try Rollback.perform { rollback throws(BerthError) in
///     let veth = try host.createVeth(…)
///     rollback.add("delete veth \(veth.name)") { () throws(BerthError) in try host.deleteLink(.index(veth.index)) }
///     try configure(veth)          // a throw here deletes the veth, then rethrows
/// }
/// ```
///
/// An undo step that fails is skipped and the others still run: the error the caller sees
/// is the one that started the rollback, and whatever an undo could not remove carries
/// Berth's tags, so garbage collection finds it later.
public struct Rollback {
    /// One registered undo, with what it takes back in words.
    public struct Step {
        /// What the step undoes ("delete veth vb0123…"), for traces and tests.
        public let label: String
        let undo: () throws(BerthError) -> Void
    }

    /// The registered steps, oldest first.
    public private(set) var steps: [Step] = []
    /// The failures of undo steps during the last `run`, in the order they ran.
    public private(set) var failures: [BerthError] = []

    /// An empty rollback, with no steps registered.
    public init() {}

    /// Registers the undo of a step that has just succeeded.
    public mutating func add(_ label: String = "", _ undo: @escaping () throws(BerthError) -> Void) {
        steps.append(Step(label: label, undo: undo))
    }

    /// Runs every registered undo, newest first, and forgets them; an undo that throws is
    /// recorded in `failures` and the rest still run.
    public mutating func run() {
        failures = []
        while let step = steps.popLast() {
            do { try step.undo() } catch { failures.append(error) }
        }
    }

    /// Forgets the registered steps: the operation succeeded and keeps what it made.
    public mutating func disarm() {
        steps.removeAll()
    }

    /// Runs `body` with a fresh rollback: if `body` throws, its registered undo steps run
    /// newest first and the error is rethrown; if it returns, they are dropped.
    public static func perform<T>(_ body: (inout Rollback) throws(BerthError) -> T) throws(BerthError) -> T {
        var rollback = Rollback()
        do {
            let result = try body(&rollback)
            rollback.disarm()
            return result
        } catch {
            rollback.run()
            throw error
        }
    }
}
