#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
import BerthNamespace

/// Lab records as JSON files, `DIR/labs/NAME.json`, written to a temporary file, synced and
/// renamed into place; `DIR/labs/.lock` (flock) serialises processes.
public final class LabFileStore: LabStateStore, @unchecked Sendable {
    public let directory: String

    /// `stateDirectory/labs`; the state directory is `BERTH_STATE_DIR`, else /var/lib/berth.
    public init(stateDirectory: String? = nil) throws(BerthError) {
        let base = stateDirectory ?? (getenv("BERTH_STATE_DIR").map { String(cString: $0) } ?? "/var/lib/berth")
        directory = base + "/labs"
        for path in [base, directory] where mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw .system("create \(path)", .current)
        }
    }

    public func locked<T>(_ body: () throws(BerthError) -> T) throws(BerthError) -> T {
        let path = directory + "/.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .system("open \(path)", .current) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw .system("lock \(path)", .current) }
        }
        return try body()
    }

    public func record(named name: String) throws(BerthError) -> LabRecord? {
        guard LabNames.check(name, what: "lab", limit: LabNames.maxLabName) == nil else { return nil }
        guard let text = try Self.read(path(name)) else { return nil }
        return try Self.decode(text, path: path(name))
    }

    public func records() throws(BerthError) -> [LabRecord] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasSuffix(".json"), !name.hasPrefix(".") { names.append(String(name.dropLast(5))) }
        }
        var result: [LabRecord] = []
        for name in names.sorted() { if let record = try record(named: name) { result.append(record) } }
        return result
    }

    public func save(_ record: LabRecord) throws(BerthError) {
        let json = JSONValue.object([
            ("name", .string(record.name)), ("source", .string(record.source)),
            ("applied", record.appliedText.map(JSONValue.string) ?? .null),
            ("pending", record.pendingText.map(JSONValue.string) ?? .null),
            ("nodes", .array(record.nodes.sorted().map(JSONValue.string))),
        ])
        let final = path(record.name)
        let temporary = final + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .system("create \(temporary)", .current) }
        let bytes = Array(json.render(pretty: true).utf8) + [0x0A]
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced, rename(temporary, final) == 0 else {
            let error = Errno.current
            unlink(temporary)
            throw .system("write \(final)", error)
        }
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 { fsync(dirfd); close(dirfd) }
    }

    public func remove(named name: String) throws(BerthError) {
        if unlink(path(name)) != 0, errno != ENOENT { throw .system("remove \(path(name))", .current) }
    }

    private func path(_ name: String) -> String { directory + "/" + name + ".json" }

    private static func read(_ path: String) throws(BerthError) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw .system("open \(path)", .current)
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = Glibc.read(fd, &buffer, buffer.count)
            if n < 0 { if errno == EINTR { continue }; throw .system("read \(path)", .current) }
            if n == 0 { break }
            bytes += buffer[..<n]
            if bytes.count > 16 << 20 { throw BerthError(.state, "\(path) is over 16 MiB", hint: "remove the file") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func decode(_ text: String, path: String) throws(BerthError) -> LabRecord {
        let json = try JSONValue(parsing: text)
        guard let name = json["name"]?.stringValue, let source = json["source"]?.stringValue, let nodes = json["nodes"]?.arrayValue else {
            throw BerthError(.state, "lab record \(path) is malformed", hint: "remove the file and collect garbage", object: .state(path))
        }
        return LabRecord(name: name, source: source, appliedText: json["applied"]?.stringValue, pendingText: json["pending"]?.stringValue,
                         nodes: Set(nodes.compactMap(\.stringValue)))
    }
}
