#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
@testable import BerthRun
import Foundation
import Testing

/// `docker run --ulimit NAME=SOFT[:HARD]` as go-units' ParseUlimit reads it, and the limits as
/// a container keeps them.
@Suite("Ulimit values")
struct UlimitTests {
    /// Every name Docker takes, with the row of /proc/self/limits for it: the kernel lists
    /// them in RLIMIT_* order, so the row's index is the number setrlimit takes.
    static let names: [(String, String)] = [
        ("core", "Max core file size"), ("cpu", "Max cpu time"), ("data", "Max data size"), ("fsize", "Max file size"),
        ("locks", "Max file locks"), ("memlock", "Max locked memory"), ("msgqueue", "Max msgqueue size"), ("nice", "Max nice priority"),
        ("nofile", "Max open files"), ("nproc", "Max processes"), ("rss", "Max resident set"), ("rtprio", "Max realtime priority"),
        ("rttime", "Max realtime timeout"), ("sigpending", "Max pending signals"), ("stack", "Max stack size"),
    ]

    /// The kernel's RLIMIT number of each row of /proc/self/limits.
    static func kernelNumbers() throws -> [String: Int32] {
        let text = try String(contentsOfFile: "/proc/self/limits", encoding: .utf8)
        var numbers: [String: Int32] = [:]
        for (index, line) in text.split(separator: "\n").dropFirst().enumerated() {
            for (_, label) in names where line.hasPrefix(label + "  ") { numbers[label] = Int32(index) }
        }
        return numbers
    }

    @Test("every one of Docker's fifteen names parses, to the kernel's RLIMIT number; a soft limit alone is the hard one too")
    func everyName() throws {
        #expect(Ulimit.Resource.allCases.count == Self.names.count)
        let numbers = try Self.kernelNumbers()
        #expect(numbers.count == Self.names.count, "\(numbers)")
        for (name, label) in Self.names {
            let number = try #require(numbers[label], "\(label)")
            let limit = try Ulimit(parsing: "\(name)=10:20")
            #expect(limit.name == name && limit.resource.number == number && limit.soft == 10 && limit.hard == 20, "\(limit)")
            #expect(limit.description == "\(name)=10:20")
            let single = try Ulimit(parsing: "\(name)=7")
            #expect(single.soft == 7 && single.hard == 7)
        }
        // `as` is one Docker leaves out; names are case-sensitive, as Docker's map lookup.
        for name in ["as", "NOFILE", "Nofile", "", "files"] {
            let error = #expect(throws: BerthError.self) { try Ulimit(parsing: "\(name)=1") }
            #expect(error?.code == .invalidArgument && error?.parameter == "ulimits", "\(String(describing: error))")
            #expect(error?.message == "unknown ulimit \"\(name)\"")
            #expect(error?.hint == "use one of core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack")
        }
    }

    @Test("-1 and infinity are unlimited (RLIM_INFINITY); an unlimited hard limit takes any soft one")
    func unlimited() throws {
        for text in ["nofile=-1", "nofile=infinity", "nofile=-1:-1", "nofile=infinity:-1"] {
            let limit = try Ulimit(parsing: text)
            #expect(limit.soft == -1 && limit.hard == -1 && limit.kernelSoft == UInt64.max && limit.kernelHard == UInt64.max, "\(text)")
        }
        let open = try Ulimit(parsing: "core=0:-1")
        #expect(open.soft == 0 && open.hard == -1 && open.kernelSoft == 0 && open.kernelHard == UInt64.max)
        #expect(try Ulimit(parsing: "stack=8388608:infinity").kernelHard == UInt64.max)
        #expect(try Ulimit(parsing: "cpu=+5").soft == 5)
    }

    @Test("a soft limit above the hard one is refused, an unlimited soft one under a finite hard one too, as go-units'")
    func softAboveHard() {
        for (text, message) in [("nofile=200:100", "ulimit nofile: the soft limit 200 is above the hard limit 100"),
                                ("nofile=-1:100", "ulimit nofile: the soft limit -1 (unlimited) is above the hard limit 100"),
                                ("core=infinity:0", "ulimit core: the soft limit -1 (unlimited) is above the hard limit 0")] {
            let error = #expect(throws: BerthError.self) { try Ulimit(parsing: text) }
            #expect(error?.message == message && error?.hint == "give a soft limit at most the hard limit" && error?.parameter == "ulimits",
                    "\(String(describing: error))")
        }
        #expect(throws: BerthError.self) { try Ulimit(.nproc, soft: 5, hard: 4).validate() }
    }

    @Test("malformed: no '=', no number, a size suffix, a fraction, three values, below -1")
    func malformed() {
        let cases: [(String, String, String)] = [
            ("nofile", "invalid ulimit \"nofile\": no '='", "write NAME=SOFT[:HARD], such as nofile=1024:2048"),
            ("nofile=", "invalid ulimit value \"\" in \"nofile=\"", "give a whole number, or -1 or infinity for unlimited"),
            ("nofile=:5", "invalid ulimit value \"\" in \"nofile=:5\"", "give a whole number, or -1 or infinity for unlimited"),
            ("nofile=5:", "invalid ulimit value \"\" in \"nofile=5:\"", "give a whole number, or -1 or infinity for unlimited"),
            ("memlock=64k", "invalid ulimit value \"64k\" in \"memlock=64k\"", "give a whole number, or -1 or infinity for unlimited"),
            ("cpu=1.5", "invalid ulimit value \"1.5\" in \"cpu=1.5\"", "give a whole number, or -1 or infinity for unlimited"),
            ("nofile=unlimited", "invalid ulimit value \"unlimited\" in \"nofile=unlimited\"", "give a whole number, or -1 or infinity for unlimited"),
            ("nofile=1:2:3", "ulimit \"nofile=1:2:3\" has more than a soft and a hard limit", "write NAME=SOFT[:HARD], such as nofile=1024:2048"),
            ("nofile=-2", "ulimit nofile: invalid soft limit -2", "give 0 or more, or -1 or infinity for unlimited"),
            ("nofile=1:-5", "ulimit nofile: invalid hard limit -5", "give 0 or more, or -1 or infinity for unlimited"),
            ("nofile=99999999999999999999", "invalid ulimit value \"99999999999999999999\" in \"nofile=99999999999999999999\"",
             "give a whole number, or -1 or infinity for unlimited"),
        ]
        for (text, message, hint) in cases {
            let error = #expect(throws: BerthError.self) { try Ulimit(parsing: text) }
            #expect(error?.code == .invalidArgument && error?.message == message && error?.hint == hint && error?.parameter == "ulimits",
                    "\(text): \(String(describing: error))")
        }
    }

    @Test("a name given twice: the later one wins, as Docker's map; the list is in name order; a spec holding one twice is refused")
    func duplicates() throws {
        let given = try ["nofile=1:2", "core=0", "nofile=100:200", "cpu=5"].map { try Ulimit(parsing: $0) }
        #expect(Ulimit.merged(given) == [Ulimit(.core, soft: 0), Ulimit(.cpu, soft: 5), Ulimit(.nofile, soft: 100, hard: 200)])
        #expect(Ulimit.merged([]) == [])
        var spec = ContainerSpec(command: ["true"])
        spec.ulimits = [Ulimit(.nofile, soft: 1), Ulimit(.nofile, soft: 2)]
        let error = #expect(throws: BerthError.self) { try spec.validate() }
        #expect(error?.message == "ulimit nofile is given twice" && error?.parameter == "ulimits", "\(String(describing: error))")
        spec.ulimits = [Ulimit(.nofile, soft: 3, hard: 2)]
        #expect(throws: BerthError.self) { try spec.validate() }
        spec.ulimits = Ulimit.merged(given)
        try spec.validate()
    }

    @Test("a container keeps its ulimits with its settings; an older record without any has none; a bad stored one is refused")
    func kept() throws {
        var options = RunOptions(process: ContainerSpec(command: ["sh"]))
        options.process.ulimits = [Ulimit(.core, soft: 0), Ulimit(.nofile, soft: 100, hard: 200), Ulimit(.stack, soft: 8192, hard: -1)]
        let text = options.json().render()
        #expect(text.contains("\"ulimits\":[{\"name\":\"core\",\"soft\":0,\"hard\":0},{\"name\":\"nofile\",\"soft\":100,\"hard\":200},"
                              + "{\"name\":\"stack\",\"soft\":8192,\"hard\":-1}]"), "\(text)")
        let back = try RunOptions(json: JSONValue(parsing: text))
        #expect(back == options && back.process.ulimits == options.process.ulimits)

        let plain = RunOptions(process: ContainerSpec(command: ["sh"]))
        #expect(plain.json().render().contains("\"ulimits\":[]"))
        guard case .object(var old) = plain.json(includingCommand: false), case .object(var process)? = plain.json(includingCommand: false)["process"] else {
            Issue.record("RunOptions' JSON is not an object")
            return
        }
        process.removeAll { $0.0 == "ulimits" }
        old.removeAll { $0.0 == "process" }
        old.append(("process", .object(process)))
        #expect(try RunOptions(json: .object(old), command: ["sh"]).process.ulimits == [])

        for (from, to) in [("\"soft\":100", "\"soft\":300"), ("\"name\":\"core\"", "\"name\":\"as\""), ("\"hard\":200", "\"hard\":\"200\""),
                           ("\"ulimits\":[", "\"ulimits\":\"none\",\"other\":[")] {
            let broken = text.replacingOccurrences(of: from, with: to)
            let error = #expect(throws: BerthError.self) { try RunOptions(json: JSONValue(parsing: broken)) }
            #expect(error?.code == .internalError, "\(from): \(String(describing: error))")
        }
    }
}
