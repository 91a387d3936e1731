#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore

extension RuntimeWrapper {
    /// The wrapper's whole run: rewrite the bundle's config.json when a container asks for
    /// Berth, then exec runc with `arguments`. Returns only with an error to print.
    public static func run(arguments: [String]) -> BerthError {
        do {
            try checkNotLooping()
            let invocation = try invocation(arguments)
            if invocation.createsContainer { try addHooks(bundle: invocation.bundle ?? ".") }
        } catch {
            return error
        }
        return exec(runc: arguments)
    }

    /// Rewrites `bundle`/config.json if the container asks for Berth.
    ///
    /// A file the strict parser refuses (a repeated key, nesting deeper than 512, over
    /// 4 MiB) cannot be rewritten. If its bytes hold a `BERTH_*` variable or a `berth.*`
    /// annotation, the container would run without Berth's network and nobody told, so the
    /// create is refused; otherwise the file goes to runc untouched, and so does one that
    /// cannot be read at all (runc's error about it is the one to show). A file too large
    /// to search (over 64 MiB) is refused: it may ask for Berth.
    public static func addHooks(bundle: String) throws(BerthError) {
        // An empty bundle is the working directory, as runc takes it, never "/config.json".
        let bundle = bundle.isEmpty ? "." : bundle
        let path = bundle.hasSuffix("/") ? bundle + "config.json" : bundle + "/config.json"
        let config: JSONValue
        do {
            config = try JSONValue(parsingUTF8: try BoundedInput.readFile(path, limit: OCIBundleConfig.maxSize))
        } catch {
            guard let bytes = try? BoundedInput.readFile(path, limit: scanLimit) else {
                // Unreadable: runc's error about it is the one to show — unless it is a file
                // only too large to search, which may ask for Berth as well as not.
                var info = stat()
                guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, Int(info.st_size) > scanLimit else { return }
                throw BerthError(.invalidArgument, "\(path) is larger than \(scanLimit >> 20) MiB: the wrapper cannot tell whether it asks for Berth, so the container was not created",
                                 hint: "run a container with so large a config.json under runc itself, not Berth's runtime",
                                 object: BerthError.Object(.file, path), cause: error)
            }
            guard let asked = berthRequest(in: bytes) else { return }
            throw BerthError(.invalidArgument, "\(path) asks for Berth (\(asked)) but the wrapper cannot add Berth's hooks to it, so the container was not created",
                             hint: "the wrapper rewrites only a config.json of at most 4 MiB, without repeated keys or nesting deeper than 512; start the container without BERTH_* variables and berth.* annotations to run it without Berth",
                             object: BerthError.Object(.file, path), cause: error)
        }
        let environment = inheritedVariables.compactMap { name in getenv(name).map { "\(name)=\(String(cString: $0))" } }
        guard let rewritten = try rewrite(config, hookPath: try hookPath(), hookEnvironment: environment) else { return }
        try replace(path, with: rewritten.render())
    }

    /// How much of a config.json the parser refused is searched for a request for Berth.
    static let scanLimit = 64 << 20

    /// What in config.json's raw bytes asks for Berth — a `BERTH_…=` variable or a
    /// `berth.…` annotation key, each in quotes — for a file the parser refused; nil when
    /// nothing does.
    public static func berthRequest(in bytes: [UInt8]) -> String? {
        let markers = variables.map { ("\"\($0.variable)=", $0.variable) } + HookAnnotations.all.map { ("\"\($0)\"", $0) }
        for (marker, name) in markers where contains(bytes, Array(marker.utf8)) { return name }
        return nil
    }

    private static func contains(_ bytes: [UInt8], _ fragment: [UInt8]) -> Bool {
        guard let first = fragment.first, bytes.count >= fragment.count else { return false }
        var index = 0
        let last = bytes.count - fragment.count
        while index <= last {
            if bytes[index] == first, bytes[index..<index + fragment.count].elementsEqual(fragment) { return true }
            index += 1
        }
        return false
    }

    /// This executable, which is `berth-oci-hook` under another name.
    static func hookPath() throws(BerthError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else {
            throw BerthError(.system, "cannot find the path of berth-oci-hook (/proc/self/exe): \(String(cString: strerror(errno)))")
        }
        return try hookPath(link: String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self),
                            executable: { access($0, X_OK) == 0 })
    }

    /// What the kernel appends to /proc/self/exe's target once the file is unlinked.
    public static let deletedSuffix = " (deleted)"

    /// The hook's path from `link`, /proc/self/exe's target. After an upgrade replaced the
    /// binary (a rename over it) the target ends in " (deleted)": the path without it is
    /// the hook hooks should run when `executable` says a file is there now; when none is,
    /// no path would run, so the create is refused rather than hooks written that fail.
    public static func hookPath(link: String, executable: (String) -> Bool) throws(BerthError) -> String {
        guard link.hasSuffix(deletedSuffix) else { return link }
        let path = String(link.dropLast(deletedSuffix.count))
        guard executable(path) else {
            throw BerthError(.notFound, "berth-oci-hook was removed while the wrapper ran (\(link)), and nothing executable is at \(path) now, so no hooks can be added",
                             hint: "reinstall berth-oci-hook at \(path) and retry the container",
                             object: .file(path))
        }
        return path
    }

    /// Writes `text` to a new file beside `path` with the same mode and renames it over
    /// `path`, so runc reads the old file or the new one, never half of one.
    static func replace(_ path: String, with text: String) throws(BerthError) {
        let object = BerthError.Object(.file, path)
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw BerthError(.system, "cannot stat \(path): \(String(cString: strerror(errno)))", object: object)
        }
        let temporary = path + ".berth-\(getpid())"
        // One left by a wrapper of the same pid killed before its rename would make the
        // O_EXCL open fail: it is removed first, as the installer does. A link planted
        // between the two is never followed (O_EXCL), it only fails the create.
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, info.st_mode & 0o7777)
        guard fd >= 0 else {
            throw BerthError(.system, "cannot create \(temporary): \(String(cString: strerror(errno)))", object: object)
        }
        var bytes = Array(text.utf8)
        bytes.append(UInt8(ascii: "\n"))
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                let code = errno
                close(fd)
                unlink(temporary)
                throw BerthError(.system, "cannot write \(temporary): \(String(cString: strerror(code)))", object: object)
            }
            written += count
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw BerthError(.system, "cannot replace \(path): \(String(cString: strerror(code)))", object: object)
        }
    }

    /// The variable the wrapper sets before it execs runc: a wrapper that finds it set was
    /// started, through some chain of execs, by itself, and would loop forever.
    public static let loopGuardVariable = "BERTH_OCI_RUNTIME_WRAPPED"

    /// Refuses a run of the wrapper started by the wrapper: the runc it found leads back
    /// to it (a wrapper script or some other program that runs the wrapper, under the name
    /// runc earlier on PATH, or as BERTH_RUNC).
    static func checkNotLooping() throws(BerthError) {
        guard getenv(loopGuardVariable) != nil else { return }
        throw BerthError(.invalidArgument, "the runc the wrapper ran runs the wrapper again (\(loopGuardVariable) is set), which would loop forever",
                         hint: "set BERTH_RUNC to the real runc's absolute path in the engine's environment, or take whatever runs berth-oci-runtime off PATH under the name runc",
                         parameter: "BERTH_RUNC")
    }

    /// Replaces this process with runc. Returns only on failure.
    static func exec(runc arguments: [String]) -> BerthError {
        let runc: String
        do {
            runc = try findRunc()
        } catch {
            return error
        }
        setenv(loopGuardVariable, "1", 1)
        let argv = ["runc"] + arguments
        var pointers: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        pointers.append(nil)
        execv(runc, pointers)
        let code = errno
        for pointer in pointers { free(pointer) }
        return BerthError(.system, "cannot run \(runc): \(String(cString: strerror(code)))")
    }

    /// `BERTH_RUNC` when set — it alone, refused when not an absolute path to an executable
    /// — else the first `runc` on PATH, else the usual places; never this executable itself
    /// (installed under the name runc by mistake, it would loop) nor a wrapper script
    /// `berth hook install` wrote, which runs it.
    static func findRunc() throws(BerthError) -> String {
        var me = stat()
        let knowMe = stat("/proc/self/exe", &me) == 0
        func isWrapper(_ candidate: String) -> Bool {
            var info = stat()
            guard stat(candidate, &info) == 0 else { return false }
            if knowMe, info.st_dev == me.st_dev, info.st_ino == me.st_ino { return true }
            // Only a small regular file can be the script; runc itself is megabytes.
            guard info.st_mode & S_IFMT == S_IFREG, info.st_size < 4096, let head = try? BoundedInput.readFile(candidate, limit: 4096) else { return false }
            return String(decoding: head, as: UTF8.self).hasPrefix("#!/bin/sh\n" + HookInstaller.scriptMark)
        }
        if let given = getenv("BERTH_RUNC") {
            let path = String(cString: given)
            guard path.hasPrefix("/") else {
                throw BerthError(.invalidArgument, "BERTH_RUNC=\(path) is not an absolute path (the wrapper runs in the runtime's working directory)",
                                 hint: "set BERTH_RUNC to runc's absolute path, or leave it out for the runc on PATH", parameter: "BERTH_RUNC")
            }
            var info = stat()
            guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(path, X_OK) == 0 else {
                throw BerthError(.notFound, "BERTH_RUNC=\(path) is not an executable file", hint: "set BERTH_RUNC to runc's absolute path, or leave it out for the runc on PATH",
                                 object: .file(path), parameter: "BERTH_RUNC")
            }
            guard !isWrapper(path) else {
                throw BerthError(.invalidArgument, "BERTH_RUNC=\(path) is Berth's runtime wrapper itself, which would run itself forever",
                                 hint: "set BERTH_RUNC to the real runc's absolute path", object: .file(path), parameter: "BERTH_RUNC")
            }
            return path
        }
        var candidates: [String] = []
        if let path = getenv("PATH") {
            candidates += String(cString: path).split(separator: ":").map { "\($0)/runc" }
        }
        candidates += ["/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc", "/usr/local/bin/runc"]
        for candidate in candidates where candidate.hasPrefix("/") && access(candidate, X_OK) == 0 && !isWrapper(candidate) {
            return candidate
        }
        throw BerthError(.notFound, "runc not found (looked at PATH, /usr/sbin, /usr/bin, /usr/local/sbin, /usr/local/bin)",
                         hint: "install runc, or set BERTH_RUNC to its path in the engine's environment")
    }
}
