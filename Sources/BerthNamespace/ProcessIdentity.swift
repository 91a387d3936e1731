#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
/// read(2) under a name no member here shadows, from Glibc or Musl alike.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
internal import CBerthShim
public import BerthCore

/// One process for good (a container's command, a supervisor, the resolver): its pid and its start time (field 22 of `/proc/PID/stat`, clock
/// ticks since boot). A pid the kernel later gives to another process comes with another
/// start time, so a recorded identity never names the wrong process.
public struct ProcessIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The process id, in the pid namespace of whoever recorded it.
    public var pid: Int32
    /// The start time: field 22 of `/proc/PID/stat`, in clock ticks since boot.
    public var startTime: UInt64

    /// The process `pid` that started at `startTime` (clock ticks since boot).
    public init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }

    /// The calling process.
    public static func current() throws(BerthError) -> ProcessIdentity {
        let pid = getpid()
        guard let stat = ProcStat.read(pid: pid) else {
            throw BerthError(.system, "cannot read /proc/\(pid)/stat of this process", hint: "is /proc mounted?")
        }
        return ProcessIdentity(pid: pid, startTime: stat.startTime)
    }

    /// The process `pid` as it is now, or nil if there is none.
    public static func of(pid: Int32) -> ProcessIdentity? {
        ProcStat.read(pid: pid).map { ProcessIdentity(pid: pid, startTime: $0.startTime) }
    }

    /// Whether this very process still runs (an exited one waiting to be reaped does not).
    public var isAlive: Bool {
        guard pid > 0, let stat = ProcStat.read(pid: pid) else { return false }
        return stat.startTime == startTime && stat.state != UInt8(ascii: "Z") && stat.state != UInt8(ascii: "X")
    }

    /// Sends `signal` to this process, and to no other: the signal goes through a handle on
    /// `/proc/PID` taken before the start time is checked, and a handle keeps naming the
    /// process it was opened on even if the pid is reused. Returns false if it is gone.
    @discardableResult
    public func signal(_ signal: Int32) throws(BerthError) -> Bool {
        guard pid > 0 else { return false }
        let fd = open("/proc/\(pid)", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard let stat = ProcStat.read(directory: fd), stat.startTime == startTime else { return false }
        guard berth_pidfd_signal(fd, signal) == 0 else {
            let error = Errno(errno)
            if error.code == ESRCH { return false }
            throw .system("send signal \(signal) to process \(pid)", error, privilege: "CAP_KILL")
        }
        return true
    }

    /// Waits until the process has ended, polling; true if it did within `timeout`.
    public func waitForExit(timeout: Duration, interval: Duration = .milliseconds(5)) -> Bool {
        let deadline = MonotonicClock.now + timeout
        while isAlive {
            if MonotonicClock.now >= deadline { return false }
            Sleep.for(interval)
        }
        return true
    }

    public var description: String { "process \(pid)" }
}

/// The two fields of `/proc/PID/stat` Berth needs.
package struct ProcStat: Equatable {
    /// Field 3: R, S, D, Z (zombie), X (dead)…
    package let state: UInt8
    /// Field 22.
    package let startTime: UInt64

    package static func read(pid: Int32) -> ProcStat? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return parse(fd)
    }

    package static func read(directory: Int32) -> ProcStat? {
        let fd = openat(directory, "stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return parse(fd)
    }

    private static func parse(_ fd: Int32) -> ProcStat? {
        // procfs hands out the whole line in one read (it is well under 1 KiB).
        var buffer = [UInt8](repeating: 0, count: 1024)
        var count = -1
        repeat { count = systemRead(fd, &buffer, buffer.count) } while count < 0 && errno == EINTR
        guard count > 0 else { return nil }
        return parse(buffer[..<count])
    }

    /// `pid (comm) state ppid …`: comm may hold spaces and parentheses, so the fields are
    /// counted from the last ')'.
    package static func parse(_ bytes: ArraySlice<UInt8>) -> ProcStat? {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        // fields[0] is field 3 (state), so field 22 is fields[19].
        guard fields.count > 19, let state = fields[0].first,
              let startTime = UInt64(String(decoding: fields[19], as: UTF8.self)) else { return nil }
        return ProcStat(state: state, startTime: startTime)
    }
}

/// Sleeping a thread without Foundation.
package enum Sleep {
    package static func `for`(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0, errno == EINTR { request = remaining }
    }
}
