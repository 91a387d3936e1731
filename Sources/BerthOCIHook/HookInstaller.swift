#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
import SystemPackage

/// Puts in place what each engine needs to run `berth-oci-hook` (`berth hook install`):
/// podman's and CRI-O's hooks.d files, and docker's runtime wrapper, a link to the hook
/// under the name `berth-oci-runtime`.
public struct HookInstaller: Sendable {
    /// The installed `berth-oci-hook`, absolute.
    public var hookPath: String
    /// Where podman reads oci-hooks(5) files; nil installs none.
    public var hooksDirectory: String?
    /// Where to put docker's runtime wrapper; nil installs none.
    public var wrapperPath: String?
    /// Berth's state directory for the hooks, when it is not the default.
    public var stateDirectory: String?

    public init(hookPath: String, hooksDirectory: String?, wrapperPath: String?, stateDirectory: String? = nil) {
        self.hookPath = hookPath
        self.hooksDirectory = hooksDirectory
        self.wrapperPath = wrapperPath
        self.stateDirectory = stateDirectory
    }

    /// podman's default for administrators' hooks (it also reads /usr/share/containers/oci/hooks.d).
    public static let defaultHooksDirectory = "/etc/containers/oci/hooks.d"

    /// What `install` did.
    public struct Installed: Sendable, Hashable {
        /// Files written, in order.
        public var files: [String] = []
        /// The wrapper link, when one was made.
        public var wrapper: String?
    }

    /// Checks the paths, then writes the hooks.d files and makes the wrapper link.
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
            try Self.link(wrapperPath, to: hookPath)
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

    /// Writes a file (mode 0644) through a temporary one and a rename.
    static func write(_ text: String, to path: String) throws(BerthError) {
        let temporary = path + ".berth-\(getpid())"
        do {
            let fd = try FileDescriptor.open(temporary, .writeOnly, options: [.create, .truncate, .closeOnExec],
                                             permissions: FilePermissions(rawValue: 0o644))
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

    /// Makes `path` a symbolic link to `target`, replacing an earlier link but never a file.
    static func link(_ path: String, to target: String) throws(BerthError) {
        var info = stat()
        if lstat(path, &info) == 0, info.st_mode & S_IFMT != S_IFLNK {
            throw BerthError(.alreadyExists, "\(path) exists and is not a link", object: .file(path), parameter: "wrapperPath",
                             remedy: .remove(.file(path)))
        }
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectories(String(path[..<slash]))
        }
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
