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
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
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
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, info.st_mode & 0o7777)
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

    /// Replaces this process with runc. Returns only on failure.
    static func exec(runc arguments: [String]) -> BerthError {
        guard let runc = findRunc() else {
            return BerthError(.notFound, "runc not found (looked at BERTH_RUNC, PATH, /usr/sbin, /usr/bin, /usr/local/sbin, /usr/local/bin)",
                              hint: "install runc, or set BERTH_RUNC to its path in the engine's environment")
        }
        let argv = ["runc"] + arguments
        var pointers: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        pointers.append(nil)
        execv(runc, pointers)
        let code = errno
        for pointer in pointers { free(pointer) }
        return BerthError(.system, "cannot run \(runc): \(String(cString: strerror(code)))")
    }

    /// `BERTH_RUNC`, else the first `runc` on PATH, else the usual places — never this
    /// executable itself (installed under the name runc by mistake, it would loop).
    static func findRunc() -> String? {
        var candidates: [String] = []
        if let given = getenv("BERTH_RUNC") { candidates.append(String(cString: given)) }
        if let path = getenv("PATH") {
            candidates += String(cString: path).split(separator: ":").map { "\($0)/runc" }
        }
        candidates += ["/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc", "/usr/local/bin/runc"]
        var me = stat()
        let knowMe = stat("/proc/self/exe", &me) == 0
        for candidate in candidates where candidate.hasPrefix("/") && access(candidate, X_OK) == 0 {
            var info = stat()
            guard stat(candidate, &info) == 0 else { continue }
            if knowMe, info.st_dev == me.st_dev, info.st_ino == me.st_ino { continue }
            return candidate
        }
        return nil
    }
}
