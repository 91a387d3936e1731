#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Environment variables as name–value pairs in the order given. A later entry of a name
/// hides an earlier one, as in a dictionary filled from `environ` entry by entry.
///
/// `processEnvironment()` holds only the process's `CNI_*` variables (what the CNI spec
/// passes the plugin); `dictionary` alone reads the rest of `environ`, for a delegated
/// plugin. Read any other variable with `getenv`.
///
/// Not a `[String: String]`: the first String-keyed hash table of a process costs the
/// Swift runtime a scan of every conformance record in the binary (`String: Hashable`,
/// ~180,000 instructions; docs/performance.md, perf6), and berth-cni's ADD had no other
/// String-keyed one. Lookups are linear: an environment holds tens of entries, and the
/// kernel bounds it (`ARG_MAX`), so a lookup stays bounded too.
///
/// Names and values are two `[String]`, not one array of pairs: a `[(String, String)]` is a
/// generic type of its own whose metadata the runtime builds at first use (~11,000
/// instructions; perf8), `[String]` is on the plugin's path anyway.
public struct CNIVariables: Sendable, ExpressibleByDictionaryLiteral {
    private var names: [String]
    private var values: [String]
    /// Whether the pairs are the `CNI_*` entries of this process's `environ`
    /// (`processEnvironment()`): `dictionary` then reads the other entries from `environ`.
    private var isProcessEnvironment = false
    /// The names of entries whose value was not valid UTF-8 (`append(_:bytes:)`), in order:
    /// `CNIEnvironment` refuses them (code 4) rather than read U+FFFD in their place.
    public private(set) var malformedNames: [String] = []

    /// The entries held, duplicates included: as given, or for `processEnvironment()` the
    /// `CNI_*` entries of `environ` in its order.
    public var pairs: [(String, String)] { Array(zip(names, values)) }

    /// Variables from name–value pairs, in their order (a later name hides an earlier one).
    public init(_ pairs: [(String, String)] = []) {
        names = pairs.map(\.0)
        values = pairs.map(\.1)
    }

    /// Variables from a dictionary (its order is the dictionary's).
    public init(_ dictionary: [String: String]) {
        names = []
        values = []
        for (name, value) in dictionary { append(name, value) }
    }

    /// Variables from a literal, in its order: `["CNI_COMMAND": "ADD"]`.
    public init(dictionaryLiteral elements: (String, String)...) { self.init(elements) }

    /// The `CNI_*` variables of this process's environment, read from `environ` byte by byte:
    /// no other entry becomes a Swift string (a runtime's environment holds tens of them,
    /// and berth-cni reads none but `CNI_*`). `dictionary` still gives a delegated IPAM
    /// plugin the whole environment.
    public static func processEnvironment() -> CNIVariables {
        var variables = CNIVariables()
        variables.isProcessEnvironment = true
        forEachCNIEntry { name, value in variables.append(name, bytes: value) }
        return variables
    }

    /// Calls `body` with each `NAME=value` entry of `environ`, in order (entries without
    /// `=` are skipped).
    private static func forEachEnvironmentEntry(_ body: (String, String) -> Void) {
        var entry = environ
        while let pointer = entry.pointee {
            entry += 1
            guard let equals = strchr(pointer, 0x3D) else { continue } // "="
            let name = UnsafeRawBufferPointer(start: pointer, count: pointer.distance(to: equals))
            let value = UnsafeRawBufferPointer(start: equals + 1, count: strlen(equals + 1))
            body(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
        }
    }

    /// Calls `body` with each `CNI_*` entry of `environ`, in order (entries without `=` are
    /// skipped), its value as bytes; the prefix is compared as bytes before any of the
    /// entry becomes a Swift string.
    private static func forEachCNIEntry(_ body: (String, UnsafeRawBufferPointer) -> Void) {
        var entry = environ
        while let pointer = entry.pointee {
            entry += 1
            // "CNI_" compared as bytes; the NUL of a shorter entry ends the comparison.
            guard pointer[0] == 0x43 && pointer[1] == 0x4E && pointer[2] == 0x49 && pointer[3] == 0x5F else { continue }
            guard let equals = strchr(pointer, 0x3D) else { continue } // "="
            let name = UnsafeRawBufferPointer(start: pointer, count: pointer.distance(to: equals))
            body(String(decoding: name, as: UTF8.self), UnsafeRawBufferPointer(start: equals + 1, count: strlen(equals + 1)))
        }
    }

    /// Adds an entry from its value's bytes (it hides any earlier one of the same name). A
    /// value that is not valid UTF-8 is held with U+FFFD for its bad bytes, and its name
    /// listed in `malformedNames`.
    public mutating func append(_ name: String, bytes: UnsafeRawBufferPointer) {
        let value = String(decoding: bytes, as: UTF8.self)
        if !value.utf8.elementsEqual(bytes) { malformedNames.append(name) }
        append(name, value)
    }

    /// Adds an entry; it hides any earlier one of the same name.
    public mutating func append(_ name: String, _ value: String) {
        names.append(name)
        values.append(value)
    }

    /// The value of the last entry named `name`; nil for a name not held — for
    /// `processEnvironment()` any name outside `CNI_*`, set or not.
    public subscript(name: String) -> String? {
        names.lastIndex(of: name).map { values[$0] }
    }

    /// The variables as a dictionary (a later entry of a name wins), for a delegated plugin:
    /// for `processEnvironment()` every entry of `environ`, as the plugin received it, then
    /// the entries held (the `CNI_*` ones came from it; any appended since win).
    public var dictionary: [String: String] {
        var result: [String: String] = [:]
        if isProcessEnvironment {
            Self.forEachEnvironmentEntry { name, value in result[name] = value }
        }
        for (name, value) in zip(names, values) { result[name] = value }
        return result
    }
}
