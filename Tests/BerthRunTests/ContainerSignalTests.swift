#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthRun
import Testing

/// `berth kill --signal` takes what `docker kill --signal` takes.
@Suite("container signals by name or number")
struct ContainerSignalTests {
    @Test("names with or without SIG in any case, numbers, and the real-time range")
    func parses() throws {
        #expect(try ContainerSignal.number(parsing: "KILL") == SIGKILL)
        #expect(try ContainerSignal.number(parsing: "sigterm") == SIGTERM)
        #expect(try ContainerSignal.number(parsing: "SIGHUP") == SIGHUP)
        #expect(try ContainerSignal.number(parsing: "usr1") == SIGUSR1)
        #expect(try ContainerSignal.number(parsing: "9") == 9)
        #expect(try ContainerSignal.number(parsing: "64") == 64)
        #expect(try ContainerSignal.number(parsing: "RTMIN") == 34)
        #expect(try ContainerSignal.number(parsing: "SIGRTMIN+3") == 37)
        #expect(try ContainerSignal.number(parsing: "RTMAX") == 64)
        #expect(try ContainerSignal.number(parsing: "RTMAX-2") == 62)
    }

    @Test("an unknown name, a number out of range, a real-time offset past the range are refused naming the text")
    func refuses() {
        for text in ["FOO", "0", "65", "-1", "", "SIG", "RTMIN+31", "RTMAX-31", "RTMIN-1", "KILL9"] {
            do {
                _ = try ContainerSignal.number(parsing: text)
                Issue.record("\(text) was taken")
            } catch {
                #expect(error.code == .invalidArgument && error.parameter == "signal" && error.message.contains("invalid signal \(text)"), "\(error)")
            }
        }
    }
}
