import BerthCore
import BerthNetwork
import Foundation
import Testing

/// Separate processes attaching at once, as concurrent `berth attach` commands do.
///
/// The children are this same test binary, started with `--filter` for `raceChild` and an
/// environment variable that enables it. That needs no extra executable target, and unlike
/// `fork()` without `exec` it is safe in a multi-threaded test process (a forked child
/// would inherit locks that other test threads hold, SQLite's and the Swift runtime's).
@Suite("StateStore: cross-process race")
struct StateRaceTests {
    static let rootVariable = "BERTH_TEST_RACE_ROOT"
    static var childRoot: String? { ProcessInfo.processInfo.environment[rootVariable] }

    @Test("20 processes attaching at once get distinct addresses; exactly as many succeed as were free")
    func parallelAttachesSerialize() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        let store = try temp.open()
        // A /28 with the gateway at .1 leaves .2-.14: 13 addresses for 20 contenders.
        try store.write { tx throws(BerthError) in try tx.insertNetwork(try Fixture.network("web", subnet: "10.77.0.0/28")) }

        let binary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var environment = ProcessInfo.processInfo.environment
        environment[Self.rootVariable] = temp.root
        let children = try (0..<20).map { _ in
            let child = Process()
            child.executableURL = URL(fileURLWithPath: binary)
            child.arguments = ["--testing-library", "swift-testing", "--filter", "StateRaceTests/raceChild"]
            child.environment = environment
            child.standardOutput = FileHandle.nullDevice
            child.standardError = FileHandle.nullDevice
            try child.run()
            return child
        }
        defer { for child in children where child.isRunning { child.terminate() } }

        // Release them together once every child has opened the store, so they contend.
        let deadline = Date().addingTimeInterval(60)
        while try Self.files(temp.root, prefix: "ready-").count < children.count {
            try #require(Date() < deadline, "children did not all start within 60 s")
            let allRunning = children.allSatisfy { $0.isRunning }
            try #require(allRunning, "a child exited before the start")
            usleep(2_000)
        }
        _ = FileManager.default.createFile(atPath: temp.root + "/go", contents: nil)
        for child in children { child.waitUntilExit() }
        #expect(children.allSatisfy { $0.terminationStatus == 0 })

        let outcomes = try Self.files(temp.root, prefix: "result-").map {
            try String(contentsOfFile: temp.root + "/" + $0, encoding: .utf8)
        }
        #expect(outcomes.count == 20)
        let granted = outcomes.filter { $0.hasPrefix("ok ") }.map { String($0.dropFirst(3)) }
        let refused = outcomes.filter { !$0.hasPrefix("ok ") }
        #expect(granted.count == 13)
        #expect(Set(granted) == Set((2...14).map { "10.77.0.\($0)" }))
        #expect(refused.count == 7)
        #expect(refused.allSatisfy { $0.hasPrefix("conflict no free address left in subnet 10.77.0.0/28") }, "\(refused)")
        let recorded = try store.read { tx throws(BerthError) in try tx.endpoints(network: "web") }
        #expect(recorded.count == 13)
        #expect(Set(recorded.compactMap { $0.address?.description }) == Set(granted))
    }

    /// One contender of the race above; skipped unless that test started this process.
    @Test("race child: open the store, wait for the start, attach once", .enabled(if: StateRaceTests.childRoot != nil))
    func raceChild() throws {
        let root = try #require(Self.childRoot)
        let pid = getpid()
        let store = try StateStore(directory: root + "/state")
        _ = FileManager.default.createFile(atPath: "\(root)/ready-\(pid)", contents: nil)
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: root + "/go") {
            try #require(Date() < deadline)
            usleep(500)
        }
        let outcome: String
        do {
            outcome = "ok \(try Fixture.attach(store, id: "child-\(pid)"))"
        } catch {
            outcome = "\(error.code.rawValue) \(error.message)"
        }
        // Written whole under a temporary name so the parent never reads half a line.
        try outcome.write(toFile: "\(root)/result-\(pid)", atomically: true, encoding: .utf8)
    }

    private static func files(_ directory: String, prefix: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(prefix) }
    }
}
