#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A NULL-terminated array of C strings, copied once before the clone so the child only
/// reads memory that is already there. Freed when the last reference goes.
final class CStringArray {
    let pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    let count: Int

    init(_ strings: [String]) {
        count = strings.count
        pointer = .allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() {
            pointer[index] = strdup(string)
        }
        pointer[strings.count] = nil
    }

    deinit {
        for index in 0..<count { free(pointer[index]) }
        pointer.deallocate()
    }

    /// The same array, typed as `const char *const *`.
    var constPointer: UnsafePointer<UnsafePointer<CChar>?> {
        UnsafeRawPointer(pointer).assumingMemoryBound(to: UnsafePointer<CChar>?.self)
    }

    /// The same array, typed as `char *const *`.
    var mutablePointer: UnsafePointer<UnsafeMutablePointer<CChar>?> { UnsafePointer(pointer) }
}
