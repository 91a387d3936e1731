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

    @Test("every signal's name, as Docker writes it, reads back as its number")
    func names() throws {
        #expect(ContainerSignal.name(of: SIGQUIT) == "SIGQUIT" && ContainerSignal.name(of: SIGABRT) == "SIGABRT" && ContainerSignal.name(of: SIGCHLD) == "SIGCHLD")
        #expect(ContainerSignal.name(of: 34) == "SIGRTMIN" && ContainerSignal.name(of: 37) == "SIGRTMIN+3" && ContainerSignal.name(of: 49) == "SIGRTMIN+15")
        #expect(ContainerSignal.name(of: 50) == "SIGRTMAX-14" && ContainerSignal.name(of: 64) == "SIGRTMAX" && ContainerSignal.name(of: 32) == "32")
        for number in Int32(1)...64 {
            #expect(try ContainerSignal.number(parsing: ContainerSignal.name(of: number)) == number, "\(number): \(ContainerSignal.name(of: number))")
        }
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
