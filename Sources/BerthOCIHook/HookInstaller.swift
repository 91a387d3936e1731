#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
import BerthNetwork
import SystemPackage

/// Puts in place what each engine needs to run `berth-oci-hook` (`berth hook install`):
/// podman's and CRI-O's hooks.d files, and docker's runtime wrapper `berth-oci-runtime` —
/// a link to the hook, or, when Berth's state is not in /var/lib/berth, a two-line shell
/// script that sets `BERTH_STATE_DIR` and runs the hook as the wrapper (the wrapper's own
/// environment is containerd's, which a system containerd does not take from dockerd).
public struct HookInstaller: Sendable {
    /// The installed `berth-oci-hook`, absolute.
    public var hookPath: String
    /// Where podman reads oci-hooks(5) files; nil installs none.
    public var hooksDirectory: String?
    /// Where to put docker's runtime wrapper; nil installs none.
    public var wrapperPath: String?
    /// Berth's state directory for the hooks, when it is not the default: written into the
    /// hooks.d entries' environment and into the wrapper script.
    public var stateDirectory: String?

    /// An installer of `hookPath` into the hooks directory and as the wrapper, each only when given.
    public init(hookPath: String, hooksDirectory: String?, wrapperPath: String?, stateDirectory: String? = nil) {
        self.hookPath = hookPath
        self.hooksDirectory = hooksDirectory
        self.wrapperPath = wrapperPath
        self.stateDirectory = stateDirectory
    }

    /// The state directory in effect for `option` (`--state-dir`), else `BERTH_STATE_DIR`;
    /// nil when that is the default, /var/lib/berth, which the hooks use without being told.
    public static func stateDirectoryInEffect(option: String?) -> String? {
        var directory = StateStore.resolveDirectory(option)
        while directory.count > 1, directory.hasSuffix("/") { directory.removeLast() }
        return directory == StateStore.defaultDirectory ? nil : directory
    }

    /// The first line after `#!/bin/sh` of the wrapper script, by which a rerun knows it.
    static let scriptMark = "# berth-oci-runtime: written by berth hook install"

    /// The wrapper as a script: Berth's state in `stateDirectory`, then the hook, told by
    /// its first argument (`HookFiles.runtimeWrapperArgument`) to be the wrapper.
    public static func wrapperScript(hookPath: String, stateDirectory: String) -> String {
        func quoted(_ text: String) -> String { "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'" }
        return "#!/bin/sh\n\(scriptMark) (docker's runtime wrapper)\n"
            + "BERTH_STATE_DIR=\(quoted(stateDirectory)); export BERTH_STATE_DIR\n"
            + "exec \(quoted(hookPath)) \(HookFiles.runtimeWrapperArgument) \"$@\"\n"
    }

    /// podman's default for administrators' hooks (it also reads /usr/share/containers/oci/hooks.d).
    public static let defaultHooksDirectory = "/etc/containers/oci/hooks.d"

    /// What `install` did.
    public struct Installed: Sendable, Hashable {
        /// Files written, in order.
        public var files: [String] = []
        /// The wrapper (a link, or a script when `stateDirectory` is set), when one was made.
        public var wrapper: String?
    }

    /// Checks the paths (and that the wrapper's path holds nothing but an earlier wrapper),
    /// then writes the hooks.d files and makes the wrapper link.
    /// Rerunning it replaces what an earlier run wrote.
    public func install() throws(BerthError) -> Installed {
        for (path, parameter) in [(hookPath, "hookPath"), (hooksDirectory, "hooksDirectory"), (wrapperPath, "wrapperPath"),
                                  (stateDirectory, "stateDirectory")] {
            if let path, !path.hasPrefix("/") {
                throw BerthError(.invalidArgument, "\(path) is not an absolute path (a runtime runs hooks from another working directory)",
                                 parameter: parameter)
            }
        }
        guard access(hookPath, X_OK) == 0 else {
            throw BerthError(.notFound, "no executable berth-oci-hook at \(hookPath)", object: .file(hookPath), parameter: "hookPath")
        }
        // Refused before anything is written: a foreign file where the wrapper goes must not
        // leave podman's hooks installed by a run that failed.
        if let wrapperPath {
            try Self.checkNotHook(wrapperPath, hookPath: hookPath)
            try Self.checkReplaceable(wrapperPath, hookPath: hookPath)
        }
        var installed = Installed()
        if let hooksDirectory {
            try Self.makeDirectories(hooksDirectory)
            let environment = stateDirectory.map { ["BERTH_STATE_DIR=\($0)"] } ?? []
            for file in HookFiles.podman(hookPath: hookPath, environment: environment) {
                let path = hooksDirectory + "/" + file.name
                try Self.write(file.contents, to: path)
                installed.files.append(path)
            }
        }
        if let wrapperPath {
            if let slash = wrapperPath.lastIndex(of: "/"), slash != wrapperPath.startIndex {
                try Self.makeDirectories(String(wrapperPath[..<slash]))
            }
            if let stateDirectory {
                try Self.write(Self.wrapperScript(hookPath: hookPath, stateDirectory: stateDirectory), to: wrapperPath, mode: 0o755)
            } else {
                try Self.link(wrapperPath, to: hookPath)
            }
            installed.wrapper = wrapperPath
        }
        return installed
    }

    /// `mkdir -p`, mode 0755.
    static func makeDirectories(_ path: String) throws(BerthError) {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0, errno != EEXIST {
                throw systemError("cannot create directory \(prefix)", path: prefix)
            }
        }
    }

    /// Writes a file (mode 0644 unless given) through a temporary one and a rename.
    static func write(_ text: String, to path: String, mode: CModeT = 0o644) throws(BerthError) {
        let temporary = path + ".berth-\(getpid())"
        // A leftover at the temporary path (an earlier run's with this pid, or a symbolic
        // link planted there) is removed, and the file made anew and never followed: opened
        // through a link, it would truncate and overwrite the file the link leads to.
        unlink(temporary)
        do {
            let fd = try FileDescriptor.open(temporary, .writeOnly, options: [.create, .exclusiveCreate, .noFollow, .closeOnExec],
                                             permissions: FilePermissions(rawValue: mode))
            try fd.closeAfter { _ = try fd.writeAll(text.utf8) }
        } catch {
            unlink(temporary)
            throw systemError("cannot write \(temporary)", path: path, errno: (error as? Errno)?.rawValue ?? EIO)
        }
        guard rename(temporary, path) == 0 else {
            let error = systemError("cannot write \(path)", path: path)
            unlink(temporary)
            throw error
        }
    }

    /// Refuses a wrapper path that is the hook itself: the same path, the same directory
    /// entry reached through linked directories, or the hook's file under another name
    /// (not a symbolic link, which an earlier install made). A link or a script there would
    /// replace the hook, and a link to itself leaves neither hook nor wrapper.
    static func checkNotHook(_ path: String, hookPath: String) throws(BerthError) {
        var info = stat(), hook = stat()
        let sameEntry = path == hookPath || entry(path).map { $0 == entry(hookPath) } == true
        let sameFile = lstat(path, &info) == 0 && info.st_mode & S_IFMT != S_IFLNK && stat(hookPath, &hook) == 0
            && info.st_dev == hook.st_dev && info.st_ino == hook.st_ino
        guard sameEntry || sameFile else { return }
        throw BerthError(.invalidArgument, "\(path) is berth-oci-hook itself (\(hookPath)): the wrapper made there would replace the hook",
                         object: .file(path), parameter: "wrapperPath", remedy: .chooseAnother(parameter: "wrapperPath"))
    }

    /// `path`'s directory, every link in it resolved, and its last component: the directory
    /// entry it names. Nil when the directory cannot be resolved.
    static func entry(_ path: String) -> String? {
        guard let slash = path.lastIndex(of: "/") else { return nil }
        let directory = slash == path.startIndex ? "/" : String(path[..<slash])
        guard let resolved = realpath(directory, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved) + "/" + path[path.index(after: slash)...]
    }

    /// Refuses a wrapper path holding anything but an earlier run's link or script. A
    /// symbolic link counts as an earlier wrapper only when it leads to the hook (the same
    /// file as `hookPath`, by device and inode) or to a file named `berth-oci-hook` (an
    /// earlier install's): `--runtime-wrapper /usr/bin/runc` where that is a link to the
    /// host's runc must not replace the host's runc.
    static func checkReplaceable(_ path: String, hookPath: String) throws(BerthError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFLNK {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let count = readlink(path, &buffer, buffer.count - 1)
            let target = count > 0 ? String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
            var resolved = stat(), hook = stat()
            if stat(path, &resolved) == 0, stat(hookPath, &hook) == 0, resolved.st_dev == hook.st_dev, resolved.st_ino == hook.st_ino { return }
            if target.split(separator: "/").last == Substring(HookRole.hookName) { return }
            throw BerthError(.alreadyExists, "\(path) is a link to \(target), not to berth-oci-hook: replacing it would replace that program",
                             object: .file(path), parameter: "wrapperPath", remedy: .chooseAnother(parameter: "wrapperPath"))
        }
        if info.st_mode & S_IFMT == S_IFREG, let head = try? BoundedInput.readFile(path, limit: 4096),
           String(decoding: head, as: UTF8.self).hasPrefix("#!/bin/sh\n" + scriptMark) { return }
        throw BerthError(.alreadyExists, "\(path) exists and is not a link or a wrapper script Berth wrote", object: .file(path),
                         parameter: "wrapperPath", remedy: .remove(.file(path)))
    }

    /// Makes `path` a symbolic link to `target`, through a temporary link and a rename.
    static func link(_ path: String, to target: String) throws(BerthError) {
        let temporary = path + ".berth-\(getpid())"
        unlink(temporary)
        guard symlink(target, temporary) == 0 else { throw systemError("cannot create link \(temporary)", path: path) }
        guard rename(temporary, path) == 0 else {
            let error = systemError("cannot create link \(path)", path: path)
            unlink(temporary)
            throw error
        }
    }

    static func systemError(_ message: String, path: String, errno code: Int32 = errno) -> BerthError {
        let kind: BerthError.Code = code == EACCES || code == EPERM ? .permissionDenied : .system
        return BerthError(kind, "\(message): \(String(cString: strerror(code)))", object: .file(path))
    }
}
