@testable import berth
import BerthCore
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// `--state-dir` as the read-only commands take it: a path that does not exist is refused,
/// not made (a typo would otherwise show an empty world), and a relative one is made
/// absolute once.
@Suite("berth --state-dir")
struct StateDirectoryCLITests {
    @Test("ps, network ls, inspect, port and check refuse a --state-dir that does not exist, and make neither it nor its parents")
    func missingIsRefused() throws {
        let base = NSTemporaryDirectory() + "berth-missing-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let path = base + "/nosuch/deeper"
        for command in [["ps"], ["network", "ls"], ["network", "inspect", "x"], ["inspect", "c"], ["port", "c"], ["check"]] {
            let result = Command.run([Command.berthBinary] + command + ["--state-dir", path])
            #expect(result.status == 1 && result.stderr == "berth: state directory \(path) does not exist (check the --state-dir path; "
                    + "a command that records something, such as 'berth network create' or 'berth run', creates it)\n", "\(command): \(result)")
        }
        #expect(!FileManager.default.fileExists(atPath: base))
    }

    @Test("an empty --state-dir is not given (the default, as every command reads it), never a directory to refuse")
    func empty() throws {
        #expect(try StateOption.parse(["--state-dir", ""]).stateDir == nil)
        #expect(try StateOption.parse([]).stateDir == nil)
        #expect(try StateOption.parse(["--state-dir", "/x/y"]).stateDir == "/x/y")
    }

    @Test("a relative state directory is taken from the working directory, once")
    func relative() {
        let cwd = FileManager.default.currentDirectoryPath
        #expect(StateStore.absolute("state") == (cwd == "/" ? "" : cwd) + "/state")
        #expect(StateStore.absolute("./a/b") == (cwd == "/" ? "" : cwd) + "/a/b")
        #expect(StateStore.absolute(".") == cwd)
        #expect(StateStore.absolute("/var/lib/berth") == "/var/lib/berth")
        #expect(StateOption.missing("/") == nil)
    }

    @Test("a missing default state directory is nothing recorded (ps, network ls and check show their empty lists); a given one never is")
    func missingDefault() {
        let missing = NSTemporaryDirectory() + "berth-default-\(getpid())/nosuch"
        #expect(StateOption.nothingRecorded(given: nil, resolved: missing, default: missing))
        // Given (as --state-dir, or BERTH_STATE_DIR, which resolves elsewhere): the commands judge it.
        #expect(!StateOption.nothingRecorded(given: missing, resolved: missing, default: missing))
        #expect(!StateOption.nothingRecorded(given: nil, resolved: "/elsewhere", default: missing))
        // An existing default is read.
        #expect(!StateOption.nothingRecorded(given: nil, resolved: "/", default: "/"))
        #expect(!FileManager.default.fileExists(atPath: missing))
    }
}
