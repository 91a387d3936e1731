#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// posix_spawn of one of Berth's own executables as a process of its own: a new session (no
/// signal of the caller's terminal or process group reaches it half-way), no signal blocked,
/// and the signals it handles at their default disposition whatever the caller ignores, and
/// no descriptor but its stdin, stdout and stderr.
/// The resolver (`berth-dns`) and the deferred WAL checkpoints of `berth attach`/`detach`,
/// berth-cni and berth-oci-hook start this way.
package enum DetachedSpawn {
    /// Where one of the child's standard descriptors comes from.
    package enum Source: Sendable {
        /// `/dev/null`.
        case null
        /// A descriptor of the caller, duplicated onto it.
        case descriptor(Int32)
        /// A file opened for appending (created, mode 0600; never through a symlink).
        case appending(String)
    }

    /// Starts `arguments[0]` with `arguments`; the child's pid, or posix_spawn's error number.
    package static func start(_ arguments: [String], stdin: Source = .null, stdout: Source = .null,
                              stderr: Source = .null) -> Result<pid_t, SpawnError> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (fd, source) in [(Int32(0), stdin), (1, stdout), (2, stderr)] {
            switch source {
            case .null: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
            case .descriptor(let from): posix_spawn_file_actions_adddup2(&actions, from, fd)
            case .appending(let path): posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0o600)
            }
        }
        // Nothing else of the caller's: a descriptor it inherited without close-on-exec (a
        // runtime's pipe, the socket Foundation's Process watches for a child's exit) would
        // keep whoever waits on it waiting for this process instead. Not started without it.
        let closing = closeFrom(3, in: &actions)
        guard closing == 0 else { return .failure(SpawnError(code: closing)) }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        // POSIX_SPAWN_SETSID (0x80, glibc ≥ 2.26) is behind _GNU_SOURCE, which Swift's Glibc
        // module does not define.
        let rc = SpawnAttributes.with(defaulting: [SIGHUP, SIGPIPE, SIGTERM, SIGINT, SIGUSR1, SIGCHLD], flags: 0x80) { attributes in
            posix_spawn(&pid, arguments[0], &actions, attributes, &argv, environ)
        }
        return rc == 0 ? .success(pid) : .failure(SpawnError(code: rc))
    }

    /// posix_spawn's error number.
    package struct SpawnError: Error, Sendable {
        package var code: Int32
        package var description: String { String(cString: strerror(code)) }
    }
}
