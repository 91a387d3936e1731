#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A lab file's path as Berth records it: absolute, so that `berth lab ls` says where the
/// file is and `down FILE`, `inspect FILE` find the lab from any directory, even once the
/// file is gone (the lab is then found by this path among the records).
public enum LabFilePath {
    /// `path` made absolute: symbolic links resolved (`realpath`) when the file exists, else
    /// its directory's when that exists, else against the working directory with `.` and
    /// `..` taken out by their spelling. `directory`: the working directory (for tests).
    public static func absolute(_ path: String, directory: String? = nil) -> String {
        if directory == nil, let real = realPath(path) { return real }
        let slash = path.lastIndex(of: "/")
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let parent = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        if directory == nil, !base.isEmpty, base != ".", base != "..", let real = realPath(parent) {
            return real == "/" ? "/" + base : real + "/" + base
        }
        let start = path.hasPrefix("/") ? path : (directory ?? workingDirectory() ?? "/") + "/" + path
        var parts: [Substring] = []
        for part in start.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Whether a lab argument is written as a file (a `/` in it, or ending in `.yaml`/`.yml`):
    /// lab names have neither a `/` nor, by convention, such an ending.
    public static func looksLikeFile(_ argument: String) -> Bool {
        argument.contains("/") || argument.hasSuffix(".yaml") || argument.hasSuffix(".yml")
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func workingDirectory() -> String? {
        guard let cwd = getcwd(nil, 0) else { return nil }
        defer { free(cwd) }
        return String(cString: cwd)
    }
}
