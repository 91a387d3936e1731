#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
public import BerthLab
import BerthNetlink
import Yams

/// Reads a lab file (YAML) into a validated `LabSpec`. Strict: an unknown key, a value of
/// the wrong shape, a link naming a node that does not exist, an interface used twice, an
/// address that does not parse, an interface name over 15 bytes — each is an error naming
/// the file, line and column. Bounded: at most `maxFileSize` bytes, and `maxYAMLNodes`
/// nodes and `maxExpandedBytes` bytes of values with aliases expanded (counted on
/// libyaml's events, before Yams composes the tree: `YAMLEventScan`), values of at most
/// 64 KiB, keys that are names (never an alias, list or mapping), and the caps of
/// `LabNames` (checked before the items under them are parsed).
public enum LabFileParser {
    public static let maxFileSize = 1 << 20
    public static let maxYAMLNodes = 200_000
    /// The bytes of a file's values, aliases expanded: four files' worth.
    public static let maxExpandedBytes = 4 * maxFileSize

    /// Reads and parses the file at `path`; returns the spec and the file's text. A relative
    /// `rootfs` is relative to the file's directory.
    public static func parse(path: String) throws(BerthError) -> (spec: LabSpec, text: String) {
        let text = try readFile(path)
        return (try parse(text, source: path, baseDirectory: directory(of: path)), text)
    }

    /// The lab's name in the file at `path`, the rest of the file unchecked: a lab whose
    /// file was since edited into one that does not validate is still found by it (`down
    /// FILE`). The file must still be YAML, within the same bounds, with a valid `name:`.
    public static func name(path: String) throws(BerthError) -> String {
        let text = try readFile(path)
        let root = try compose(text, source: path)
        let reader = YAMLReader(source: path, budget: maxYAMLNodes)
        for (key, at, value) in try reader.mapping(root, "the lab file", allowed: []) where key == "name" {
            let spec = LabSpec(name: try reader.scalar(value, "name"), source: path, nameLocation: YAMLReader.location(value.mark) ?? at)
            try spec.validateName()
            return spec.name
        }
        throw BerthError.labFile(path, YAMLReader.location(root.mark), "the file has no name", hint: "write name: LAB at its top")
    }

    /// Parses lab-file text; `source` names it in errors, `baseDirectory` (absolute) is
    /// where a relative `rootfs` is found (without it, a relative one is an error).
    public static func parse(_ text: String, source: String, baseDirectory: String? = nil) throws(BerthError) -> LabSpec {
        let root = try compose(text, source: source)
        let spec = try LabFileReader(reader: YAMLReader(source: source, budget: maxYAMLNodes), baseDirectory: baseDirectory).lab(root)
        try spec.validate()
        return spec
    }

    /// The YAML tree of lab-file text, within the size and node bounds.
    private static func compose(_ text: String, source: String) throws(BerthError) -> Node {
        guard text.utf8.count <= maxFileSize else {
            throw BerthError.labFile(source, nil, "the file is over \(maxFileSize) bytes", hint: "a lab file is a few kilobytes; split the lab")
        }
        // Before Yams composes: it hashes keys with their aliases expanded, unbounded.
        try YAMLEventScan.check(text, source: source, budget: maxYAMLNodes, byteBudget: maxExpandedBytes)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw translate(error, source: source)
        } catch {
            throw BerthError.labFile(source, nil, "not valid YAML: \(error)")
        }
        guard let root else { throw BerthError.labFile(source, nil, "the file is empty", hint: "write at least name: and nodes:") }
        return root
    }

    static func translate(_ error: YamlError, source: String) -> BerthError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return .labFile(source, YAMLReader.location(mark), "not valid YAML: \(problem)", hint: "check indentation, quotes and colons there")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return .labFile(source, YAMLReader.location(context.mark), "key \(duplicates.joined(separator: ", ")) is given twice", hint: "keep one")
        case .reader(let problem, _, _, _):
            return .labFile(source, nil, "not readable as YAML: \(problem)", hint: "save the file as UTF-8 text")
        default:
            return .labFile(source, nil, "not valid YAML: \(error)")
        }
    }

    /// The absolute directory of `path`, resolved against the current directory.
    static func directory(of path: String) -> String? {
        var absolute = path
        if !path.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            guard getcwd(&buffer, buffer.count) != nil else { return nil }
            let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            absolute = (cwd.hasSuffix("/") ? cwd : cwd + "/") + path
        }
        guard let slash = absolute.lastIndex(of: "/") else { return nil }
        return slash == absolute.startIndex ? "/" : String(absolute[..<slash])
    }

    private static func readFile(_ path: String) throws(BerthError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw BerthError(.notFound, "lab file \(path) does not exist", hint: "give the path of a lab file", object: .file(path)) }
            throw BerthError(.system, "cannot open lab file \(path): \(String(cString: strerror(code)))", object: .file(path))
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while bytes.count <= maxFileSize {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw BerthError(.system, "cannot read lab file \(path): \(String(cString: strerror(errno)))", object: .file(path))
            }
            if n == 0 { break }
            bytes += buffer[..<n]
        }
        guard bytes.count <= maxFileSize else {
            throw BerthError.labFile(path, nil, "the file is over \(maxFileSize) bytes", hint: "a lab file is a few kilobytes; split the lab")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw BerthError.labFile(path, nil, "the file is not UTF-8 text", hint: "save it as UTF-8")
        }
        return text
    }
}
