import BerthTestSupport
import Foundation
import Testing

/// `berth logs -t/--timestamps`, `--since` and `--until` through the built binary, over a
/// container that writes each line when the test says so: the moments between its lines are
/// known on the host's wall clock, which the supervisor times chunks with.
@Suite("berth logs --timestamps, --since, --until (kernel)", .enabled(if: try KernelTests.enabled))
struct LogTimesCLITests {
    /// `one` on stdout, then `two` on stderr once /tmp/go1 exists, then `three` once /tmp/go2 does.
    static let script = "echo one; until [ -e /tmp/go1 ]; do sleep 0.02; done; echo two >&2; until [ -e /tmp/go2 ]; do sleep 0.02; done; echo three"

    /// `2026-12-03T07:08:00.123456789Z` as a Date; nil unless it has exactly that form.
    private func date(_ text: Substring) -> Date? {
        let pattern = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{9})Z$/
        guard let match = text.wholeMatch(of: pattern), let whole = ISO8601DateFormatter().date(from: String(match.1) + "Z"),
              let fraction = Double("0." + match.2) else { return nil }
        return whole.addingTimeInterval(fraction)
    }

    /// Each line of `output` split into its time and its text.
    private func stamped(_ output: String) -> [(Date?, String)] {
        output.split(separator: "\n").map { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            return (date(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
    }

    /// A moment as a unix time with nine digits of fraction, one of the forms docker takes.
    private func unix(_ date: Date) -> String { String(format: "%.9f", date.timeIntervalSince1970) }

    @Test("-t prefixes each line with when it was read; --since and --until select lines by it, in every form docker takes; bad values are usage errors")
    func timesAndSelection() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                let start = Date()
                try #require(sandbox.berth(["run", "-d", "--name", "timed", "--rootfs", rootfs.path, "--network", "none", "--", "sh", "-c", Self.script]).succeeded)
                #expect(ContainerCLI.eventually { sandbox.berth(["logs", "timed"]).stdout == "one\n" })
                Thread.sleep(forTimeInterval: 0.05)
                let first = Date()
                Thread.sleep(forTimeInterval: 0.05)
                _ = FileManager.default.createFile(atPath: rootfs.path + "/tmp/go1", contents: nil)
                #expect(ContainerCLI.eventually { sandbox.berth(["logs", "timed"]).stderr == "two\n" })
                Thread.sleep(forTimeInterval: 0.05)
                let second = Date()
                Thread.sleep(forTimeInterval: 0.05)
                _ = FileManager.default.createFile(atPath: rootfs.path + "/tmp/go2", contents: nil)
                #expect(try ContainerCLI.eventually { try ContainerCLI.container(sandbox, "timed")?["status"] as? String == "exited" })
                let end = Date()

                // -t: RFC3339NanoFixed in UTC, then a space; each time between the moments the test knows.
                let logs = sandbox.berth(["logs", "-t", "timed"])
                #expect(logs.status == 0, "\(logs)")
                let out = stamped(logs.stdout)
                let err = stamped(logs.stderr)
                #expect(out.map(\.1) == ["one", "three"] && err.map(\.1) == ["two"], "\(logs)")
                let one = try #require(out.first?.0, "\(logs.stdout)")
                let two = try #require(err.first?.0, "\(logs.stderr)")
                let three = try #require(out.last?.0, "\(logs.stdout)")
                #expect(start <= one && one < first && first < two && two < second && second < three && three <= end, "\(logs)")
                #expect(sandbox.berth(["logs", "--timestamps", "timed"]).stdout == logs.stdout)
                let twoText = try #require(logs.stderr.split(separator: " ").first.map(String.init))

                func select(_ options: [String]) -> String {
                    let result = sandbox.berth(["logs"] + options + ["timed"])
                    return result.status == 0 ? "out: \(result.stdout.split(separator: "\n").joined(separator: ",")) err: \(result.stderr.split(separator: "\n").joined(separator: ","))"
                        : "status \(result.status): \(result.stderr)"
                }
                #expect(select(["--since", unix(first)]) == "out: three err: two")
                #expect(select(["--until", unix(second)]) == "out: one err: two")
                #expect(select(["--since", unix(first), "--until", unix(second)]) == "out:  err: two")
                // The printed time itself: both bounds include it.
                #expect(select(["--since", twoText, "--until", twoText]) == "out:  err: two")
                #expect(select(["--since", twoText, "-t"]).hasSuffix("three err: \(twoText) two"))
                // Relative: all of it was within the hour; none of it is from before an hour ago.
                #expect(select(["--since", "1h"]) == "out: one,three err: two")
                #expect(select(["--since", "1h30m", "--until", "1h"]) == "out:  err: ")
                #expect(select(["--until", "0"]) == "out: one,three err: two")
                // A date-time in another zone and a date: the same moment, another spelling.
                let zoned = ISO8601DateFormatter()
                zoned.timeZone = TimeZone(secondsFromGMT: -5 * 3600)
                zoned.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                #expect(select(["--since", zoned.string(from: second)]) == "out: three err: ")
                let day = ISO8601DateFormatter()
                day.formatOptions = [.withFullDate]
                #expect(select(["--since", day.string(from: end.addingTimeInterval(2 * 86_400)) + "Z"]) == "out:  err: ")
                // --tail first, then the filters.
                #expect(select(["-n", "1", "--since", unix(first)]) == "out: three err: ")
                #expect(select(["-n", "1", "--until", unix(second)]) == "out:  err: ")

                for (option, value) in [("--since", "yesterday"), ("--until", "2026-13-01"), ("--since", "2026-12-03T07:08:00+0100"), ("--until", "5 m")] {
                    let bad = sandbox.berth(["logs", option, value, "timed"])
                    #expect(bad.status == 64 && bad.stdout.isEmpty, "\(bad)")
                    #expect(bad.stderr.contains(option) && bad.stderr.contains("RFC 3339") && bad.stderr.contains("'\(value)'"), "\(bad)")
                }
                #expect(sandbox.berth(["rm", "timed"]).succeeded)
            }
        }
    }

    @Test("-f --until: follows a running container until that moment, then returns; the lines shown are those up to it")
    func followUntil() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                try #require(sandbox.berth(["run", "-d", "--name", "ticker", "--rootfs", rootfs.path, "--network", "none", "--",
                                            "sh", "-c", "while :; do echo tick; sleep 0.1; done"]).succeeded)
                // Ticking before the moment is set, so that lines up to it exist however slowly
                // the container started.
                #expect(ContainerCLI.eventually(30) { sandbox.berth(["logs", "ticker"]).stdout.contains("tick\n") })
                let until = Date().addingTimeInterval(1.5)
                let format = ISO8601DateFormatter()
                format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                let started = Date()
                let follow = sandbox.berth(["logs", "-f", "-t", "--until", format.string(from: until), "ticker"])
                let took = Date().timeIntervalSince(started)
                #expect(follow.status == 0, "\(follow)")
                // It ended at the moment, not with the container, which still runs (the upper
                // bound is against a hang: the container never ends).
                #expect(took >= 1.0 && took < 30, "logs -f --until took \(took) s")
                #expect(try ContainerCLI.container(sandbox, "ticker")?["status"] as? String == "running")
                let lines = stamped(follow.stdout)
                // The tick seen before the moment and at least one followed up to it.
                #expect(lines.count >= 2 && lines.allSatisfy { $0.1 == "tick" }, "\(follow.stdout)")
                #expect(lines.allSatisfy { $0.0.map { $0 <= until.addingTimeInterval(0.001) } ?? false }, "\(follow.stdout)")
                #expect(sandbox.berth(["rm", "-f", "ticker"]).succeeded)
            }
        }
    }
}
