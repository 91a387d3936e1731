#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore

/// A signal as `docker kill --signal` takes it: a name with or without `SIG`, in any case
/// (`KILL`, `sigterm`, `SIGRTMIN+3`), or its number (`9`).
public enum ContainerSignal {
    /// The names of the standard signals, Linux's numbers through the C library's constants.
    static let names: [(String, Int32)] = [
        ("HUP", SIGHUP), ("INT", SIGINT), ("QUIT", SIGQUIT), ("ILL", SIGILL), ("TRAP", SIGTRAP), ("ABRT", SIGABRT),
        ("IOT", SIGABRT), ("BUS", SIGBUS), ("FPE", SIGFPE), ("KILL", SIGKILL), ("USR1", SIGUSR1), ("SEGV", SIGSEGV),
        ("USR2", SIGUSR2), ("PIPE", SIGPIPE), ("ALRM", SIGALRM), ("TERM", SIGTERM), ("STKFLT", SIGSTKFLT),
        ("CHLD", SIGCHLD), ("CLD", SIGCHLD), ("CONT", SIGCONT), ("STOP", SIGSTOP), ("TSTP", SIGTSTP), ("TTIN", SIGTTIN),
        ("TTOU", SIGTTOU), ("URG", SIGURG), ("XCPU", SIGXCPU), ("XFSZ", SIGXFSZ), ("VTALRM", SIGVTALRM),
        ("PROF", SIGPROF), ("WINCH", SIGWINCH), ("IO", SIGIO), ("POLL", SIGIO), ("PWR", SIGPWR), ("SYS", SIGSYS),
    ]

    /// The highest signal number (`SIGRTMAX`, 64 on Linux).
    static let highest: Int32 = 64
    /// `SIGRTMIN` as the kernel numbers it (the C library keeps the first two for itself,
    /// but a container's process may use them: Docker's table starts at 34 as well).
    static let realTimeMinimum: Int32 = 34

    /// The number of the signal `text` names; `.invalidArgument` (parameter `signal`) naming
    /// it when it names none.
    public static func number(parsing text: String) throws(BerthError) -> Int32 {
        if let number = Int32(text) {
            guard (1...highest).contains(number) else {
                throw .invalid("invalid signal \(text): signal numbers are 1 to \(highest)", hint: "give a signal such as KILL, TERM, HUP or 9", parameter: "signal")
            }
            return number
        }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        if let found = names.first(where: { $0.0 == name }) { return found.1 }
        if let number = realTime(name) { return number }
        throw .invalid("invalid signal \(text)", hint: "give a signal such as KILL, TERM, HUP or 9", parameter: "signal")
    }

    /// The name of signal `number` as Docker writes one (`SIGQUIT`, `SIGRTMIN+3`, `SIGRTMAX`),
    /// or its number when it has none (32, 33: the C library's own).
    public static func name(of number: Int32) -> String {
        if let found = names.first(where: { $0.1 == number }) { return "SIG" + found.0 }
        if number == realTimeMinimum { return "SIGRTMIN" }
        if number == highest { return "SIGRTMAX" }
        if number > realTimeMinimum, number < highest {
            // Docker's table names the first half from RTMIN up, the second from RTMAX down.
            let up = number - realTimeMinimum
            return up <= (highest - realTimeMinimum) / 2 ? "SIGRTMIN+\(up)" : "SIGRTMAX-\(highest - number)"
        }
        return String(number)
    }

    /// `RTMIN`, `RTMIN+N`, `RTMAX`, `RTMAX-N` within the real-time range.
    private static func realTime(_ name: String) -> Int32? {
        func offset(_ rest: Substring, sign: Character) -> Int32? {
            if rest.isEmpty { return 0 }
            guard rest.first == sign, let value = Int32(rest.dropFirst()), value >= 0 else { return nil }
            return value
        }
        if name.hasPrefix("RTMIN"), let n = offset(name.dropFirst(5), sign: "+"), realTimeMinimum + n <= highest {
            return realTimeMinimum + n
        }
        if name.hasPrefix("RTMAX"), let n = offset(name.dropFirst(5), sign: "-"), highest - n >= realTimeMinimum {
            return highest - n
        }
        return nil
    }
}
