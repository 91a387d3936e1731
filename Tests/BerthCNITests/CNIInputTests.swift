import BerthCore
@testable import BerthCNI
import Foundation
import Testing

@Suite("Hostile stdin: bounded, strict, refused with code 6")
struct CNIInputTests {
    /// Writes `count` bytes of `byte` into a pipe from another thread, and reads it with
    /// CNIInput.read; returns the error and how many bytes the writer got rid of.
    private func readPiped(count: Int, byte: UInt8 = 0x20) throws -> (CNIError?, Int) {
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        signal(SIGPIPE, SIG_IGN)
        let writeEnd = fds[1]
        let written = ManagedCounter()
        let writer = Thread {
            let chunk = [UInt8](repeating: byte, count: 64 * 1024)
            var left = count
            while left > 0 {
                let n = chunk.withUnsafeBytes { write(writeEnd, $0.baseAddress, min(left, $0.count)) }
                if n <= 0 { break }
                written.add(n)
                left -= n
            }
            close(writeEnd)
            written.finish()
        }
        writer.start()
        var error: CNIError?
        do { _ = try CNIInput.read(fd: fds[0]) } catch let e { error = e }
        close(fds[0]) // the writer gets EPIPE instead of blocking forever
        written.wait()
        return (error, written.value)
    }

    @Test("10 MB on stdin: code 6 after reading just over the 1 MiB cap")
    func tooLarge() throws {
        let (error, written) = try readPiped(count: 10_000_000)
        #expect(error?.code == .decodingFailure)
        #expect(error?.message.contains("larger than 1048576 bytes") == true)
        // The reader stopped: the writer could not push the whole 10 MB through the pipe.
        #expect(written < 2_000_000, "\(written) bytes were taken")
    }

    @Test("exactly the cap is read whole")
    func atTheCap() throws {
        let (error, _) = try readPiped(count: CNIInput.limit)
        #expect(error == nil)
    }

    @Test("malformed documents", arguments: [
        (String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000), "nesting deeper than 512"),
        (String(repeating: #"{"a":"#, count: 10_000) + "1" + String(repeating: "}", count: 10_000), "nesting deeper than 512"),
        (#"{"cniVersion":"1.0.0","name":"#, "unexpected end of input"),
        (#"{"cniVersion":"1.0.0","name":"a","name":"b"}"#, "key \"name\" appears twice"),
        (#"["cniVersion"]"#, "not a JSON object"),
        ("", "no JSON value"),
        (#"{"a":1} {"b":2}"#, "after the JSON value"),
        (#"{"a":NaN}"#, "expected a value"),
    ])
    func malformed(text: String, words: String) throws {
        let error = try #require(throws: CNIError.self) { try CNIInput.parse(Array(text.utf8)) }
        #expect(error.code == .decodingFailure)
        #expect(error.message.contains(words), "\(error.message)")
    }

    @Test("invalid UTF-8 is code 6")
    func invalidUTF8() throws {
        let error = try #require(throws: CNIError.self) { try CNIInput.parse([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]) }
        #expect(error.code == .decodingFailure)
    }

    @Test("the plugin answers hostile stdin with one code 6 object and exit 1")
    func pluginAnswer() throws {
        let deep = Array((String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)).utf8)
        let response = CNIPlugin.run(environment: ["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c", "CNI_NETNS": "/n", "CNI_IFNAME": "eth0"], stdin: deep)
        #expect(response.exitCode == 1)
        let answer = try JSONValue(parsing: response.output)
        #expect(answer["code"] == .integer(6))
        #expect(answer["cniVersion"] == "1.1.0")
    }
}

/// A counter one thread adds to while another waits for it to finish.
final class ManagedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private let done = DispatchSemaphore(value: 0)
    private var total = 0
    func add(_ n: Int) { lock.lock(); total += n; lock.unlock() }
    func finish() { done.signal() }
    func wait() { done.wait() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return total }
}
