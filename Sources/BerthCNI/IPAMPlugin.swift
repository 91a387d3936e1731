#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthNamespace

/// An IPAM plugin Berth delegates to, run exactly as the reference bridge plugin runs it:
/// found by its `type` in `CNI_PATH`, given the same stdin and environment with
/// `CNI_COMMAND` set, its result or error read from its stdout. Its stderr is the
/// runtime's, like ours.
///
/// The process must ignore SIGPIPE (berth-cni's `main` does): a plugin that exits without
/// reading its stdin would otherwise kill the caller.
///
/// This is the one program Berth's networking code starts, and only because the CNI
/// protocol is defined that way: an `ipam` section names a plugin executable (host-local,
/// static, dhcp) that the main plugin must run with the same config. Berth's own IPAM
/// (no `ipam` section) and all kernel work stay in-process, over netlink.
public struct IPAMPlugin: Sendable {
    /// The plugin's `type` (the file name in `CNI_PATH`).
    public let type: String
    /// The executable found.
    public let path: String

    /// Finds `type` in `searchPath` (the directories of `CNI_PATH`, in order).
    public init(type: String, searchPath: [String]) throws(CNIError) {
        self.type = type
        for directory in searchPath where !directory.isEmpty {
            let candidate = directory.hasSuffix("/") ? directory + type : directory + "/" + type
            var info = stat()
            if stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                path = candidate
                return
            }
        }
        throw CNIError(.ipamFailure, "IPAM plugin \"\(type)\" is not in CNI_PATH",
                       details: searchPath.isEmpty ? "CNI_PATH is empty: the runtime must say where plugins are"
                                                   : "looked in \(searchPath.joined(separator: ":")); install it there or fix ipam.type")
    }

    /// Runs the plugin for `command` with `stdin`, in `environment` (the plugin's own
    /// environment as received; `CNI_COMMAND` and `overrides` replace entries). Returns its
    /// stdout on success; a failure becomes a CNI error carrying the plugin's message and,
    /// for a code the spec defines (1-99), its code; any other code is 111 naming it in
    /// `details`.
    ///
    /// `fallbackStdin`, when given, is sent in a second run if the plugin refuses the
    /// configuration's version (code 1): the same configuration at an older version, for
    /// plugins that predate it (Debian 12's host-local 1.1.1 stops at 1.0.0).
    public func run(_ command: CNIEnvironment.Command, stdin: [UInt8], environment: [String: String],
                    overrides: [String: String] = [:], fallbackStdin: [UInt8]? = nil) throws(CNIError) -> [UInt8] {
        do {
            return try runOnce(command, stdin: stdin, environment: environment, overrides: overrides)
        } catch where error.code == .incompatibleVersion && fallbackStdin != nil {
            return try runOnce(command, stdin: fallbackStdin ?? stdin, environment: environment, overrides: overrides)
        }
    }

    private func runOnce(_ command: CNIEnvironment.Command, stdin: [UInt8], environment: [String: String],
                         overrides: [String: String]) throws(CNIError) -> [UInt8] {
        var env = environment
        env["CNI_COMMAND"] = command.rawValue
        for (key, value) in overrides { env[key] = value }
        let (status, output) = try spawn(stdin: stdin, environment: env.map { "\($0.key)=\($0.value)" })
        guard status == 0 else {
            let detail = String(decoding: output.prefix(4096), as: UTF8.self)
            if let error = try? JSONValue(parsingUTF8: output), let code = error["code"]?.intValue, let message = error["msg"]?.stringValue {
                let text = "IPAM plugin \(type) failed \(command.rawValue): \(message)"
                let details = error["details"]?.stringValue ?? ""
                // The spec's codes (1-99) mean the same from any plugin and are passed on. A
                // plugin's own (100 and up) would read as one of Berth's, which mean other
                // things, and 0 or a negative one is no error code: 111, the code kept in details.
                guard (1...99).contains(code) else {
                    throw CNIError(.ipamFailure, text, details: "IPAM plugin code \(code): \(message)" + (details.isEmpty ? "" : " (\(details))"))
                }
                throw CNIError(CNIError.Code(rawValue: code), text, details: details)
            }
            throw CNIError(.ipamFailure, "IPAM plugin \(type) failed \(command.rawValue) (\(status < 0 ? "killed by signal \(-status)" : "exit \(status)"))",
                           details: detail.isEmpty ? "it printed nothing; see the runtime's log for its stderr" : "it printed: \(detail)")
        }
        return output
    }

    /// STATUS or GC (CNI 1.1), passed on as the reference bridge plugin passes them: run
    /// with `stdin`. Returns false when the plugin predates the command, so it had nothing
    /// to do: it refused it and either said the configuration's version is not one it
    /// speaks (code 1) or its VERSION lists no 1.1.0 or later. Such a plugin refuses in its
    /// own words — Debian 12's host-local 1.1.1 says "missing containerID" (code 3) when
    /// `CNI_CONTAINERID` is unset, as runtimes send these commands, else "unknown
    /// CNI_COMMAND" (code 4) — so its VERSION decides, asked only after a refusal. Any
    /// other failure (including that of a plugin whose VERSION cannot be read) is thrown as
    /// `run` throws it.
    public func runUnlessUnknown(_ command: CNIEnvironment.Command, stdin: [UInt8], environment: [String: String]) throws(CNIError) -> Bool {
        do {
            _ = try runOnce(command, stdin: stdin, environment: environment, overrides: [:])
            return true
        } catch where error.code == .incompatibleVersion {
            return false
        } catch {
            guard let versions = supportedVersions(environment: environment),
                  !versions.contains(where: { $0 >= CNIVersion(1, 1, 0) }) else { throw error }
            return false
        }
    }

    /// The versions the plugin's VERSION lists; nil when it gives no readable answer.
    func supportedVersions(environment: [String: String]) -> [CNIVersion]? {
        let query = Array(#"{"cniVersion":"1.1.0"}"#.utf8)
        guard let output = try? runOnce(.version, stdin: query, environment: environment, overrides: [:]),
              let info = try? JSONValue(parsingUTF8: output), let list = info["supportedVersions"]?.arrayValue else { return nil }
        return list.compactMap { $0.stringValue.flatMap { CNIVersion($0) } }
    }

    /// ADD: the plugin's result. A plugin that succeeded with output Berth cannot use is
    /// sent DEL before the error is returned: its lease must not stay held until the
    /// runtime happens to send a DEL (the spec's "execute again with DEL before returning
    /// failure", as the reference bridge plugin's deferred IPAM DEL does).
    public func add(stdin: [UInt8], environment: [String: String], fallbackStdin: [UInt8]? = nil) throws(CNIError) -> CNIResult {
        let output = try run(.add, stdin: stdin, environment: environment, fallbackStdin: fallbackStdin)
        let failure: CNIError
        do throws(CNIError) {
            let json: JSONValue
            do {
                json = try JSONValue(parsingUTF8: output)
            } catch {
                throw CNIError(.ipamFailure, "IPAM plugin \(type) printed a result that is not JSON: \(error.message)")
            }
            do {
                return try CNIResult.parse(json, path: "IPAM result")
            } catch {
                throw CNIError(.ipamFailure, "IPAM plugin \(type) printed an unusable result: \(error.message)")
            }
        } catch {
            failure = error
        }
        _ = try? run(.del, stdin: stdin, environment: environment, fallbackStdin: fallbackStdin)
        throw failure
    }

    /// Starts the plugin, feeds it stdin, reads its stdout (at most `CNIInput.limit` bytes)
    /// and waits. Returns the exit status (the negated signal if it was killed) and output.
    private func spawn(stdin: [UInt8], environment: [String]) throws(CNIError) -> (Int32, [UInt8]) {
        var input: [Int32] = [-1, -1], output: [Int32] = [-1, -1]
        guard pipe(&input) == 0 else { throw failure("cannot make a pipe") }
        guard pipe(&output) == 0 else {
            close(input[0]); close(input[1])
            throw failure("cannot make a pipe")
        }
        // Our ends must not leak into the child (or into other children).
        for fd in [input[0], input[1], output[0], output[1]] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        // berth-cni ignores SIGPIPE (main.swift): the plugin gets the default disposition
        // and an empty mask, as the runtime would have started it.
        var pid: pid_t = 0
        let spawned = SpawnAttributes.with(defaulting: [SIGPIPE]) { attributes in
            withCStrings([path]) { argv in
                withCStrings(environment) { envp in posix_spawn(&pid, path, &actions, attributes, argv, envp) }
            }
        }
        close(input[0])
        close(output[1])
        guard spawned == 0 else {
            close(input[1]); close(output[0])
            throw failure("cannot start \(path)", errno: spawned)
        }
        // Plugins read all of stdin before they write: writing first cannot deadlock for
        // configurations within the pipe's capacity, and larger ones are read as they come.
        var offset = 0
        while offset < stdin.count {
            let written = stdin.withUnsafeBytes { buffer in
                buffer.baseAddress.map { write(input[1], $0 + offset, buffer.count - offset) } ?? 0
            }
            if written < 0 {
                if errno == EINTR { continue }
                break // EPIPE: the plugin stopped reading; its status tells why.
            }
            offset += written
        }
        close(input[1])
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(output[0], $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            if result.count < CNIInput.limit { result.append(contentsOf: chunk[0..<min(count, CNIInput.limit - result.count)]) }
        }
        close(output[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw failure("cannot wait for \(path)") }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not import.
        let signal = status & 0x7f
        return (signal == 0 ? (status >> 8) & 0xff : -signal, result)
    }

    private func failure(_ what: String, errno code: Int32 = errno) -> CNIError {
        CNIError(.ipamFailure, "IPAM plugin \(type): \(what)", details: String(cString: strerror(code)))
    }
}

/// Calls `body` with a NULL-terminated C array of copies of `strings`.
private func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    var pointers = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return body(pointers)
}
