#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `-e` of `berth run` and `berth exec`, read as docker reads it for both: `NAME=VALUE` as
/// it is, and `NAME` alone with berth's own value (`-e HOME`), dropped when berth has none.
enum EnvironmentEntries {
    /// `entries` with every bare name given its value from berth's environment.
    static func resolve(_ entries: [String], lookup: (String) -> String? = lookup) -> [String] {
        entries.compactMap { entry in
            if entry.contains("=") { return entry }
            return lookup(entry).map { entry + "=" + $0 }
        }
    }

    /// `name`'s value in berth's own environment, nil when it is not set.
    static func lookup(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
