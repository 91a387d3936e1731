import BerthCore
import Testing

@Suite("Rollback")
struct RollbackTests {
    /// Records what ran, in order.
    final class Journal {
        var lines: [String] = []
    }

    @Test("a failure undoes the registered steps newest first and rethrows the failure")
    func undoesInReverse() {
        let journal = Journal()
        let error = #expect(throws: BerthError.self) {
            try Rollback.perform { rollback throws(BerthError) in
                for step in ["bridge", "veth", "address"] {
                    journal.lines.append("make \(step)")
                    rollback.add("remove \(step)") { journal.lines.append("remove \(step)") }
                }
                throw BerthError(.kernel, "the route was refused")
            }
        }
        #expect(error?.message == "the route was refused")
        #expect(journal.lines == ["make bridge", "make veth", "make address", "remove address", "remove veth", "remove bridge"])
    }

    @Test("success keeps everything: no undo runs")
    func successDisarms() throws {
        let journal = Journal()
        let value = try Rollback.perform { rollback throws(BerthError) -> Int in
            rollback.add { journal.lines.append("undo") }
            return 42
        }
        #expect(value == 42)
        #expect(journal.lines.isEmpty)
    }

    @Test("an undo that fails is recorded and the older ones still run")
    func failingUndoDoesNotStopTheRest() {
        let journal = Journal()
        var rollback = Rollback()
        rollback.add("first") { journal.lines.append("first") }
        rollback.add("broken") { () throws(BerthError) in throw BerthError(.notFound, "already gone") }
        rollback.add("last") { journal.lines.append("last") }
        #expect(rollback.steps.map(\.label) == ["first", "broken", "last"])
        rollback.run()
        #expect(journal.lines == ["last", "first"])
        #expect(rollback.failures.map(\.message) == ["already gone"])
        #expect(rollback.steps.isEmpty)
        // Run twice, nothing runs again.
        rollback.run()
        #expect(journal.lines == ["last", "first"])
    }

    @Test("steps registered after a disarm are undone on a later failure, earlier ones are not")
    func disarmForgets() {
        let journal = Journal()
        var rollback = Rollback()
        rollback.add { journal.lines.append("kept") }
        rollback.disarm()
        rollback.add { journal.lines.append("taken back") }
        rollback.run()
        #expect(journal.lines == ["taken back"])
    }
}
