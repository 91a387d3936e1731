/// A value bound to a statement parameter. SQLite's own storage classes, minus the one
/// Berth's schema does not use (REAL).
package enum SQLValue: Sendable, Hashable {
    case integer(Int64)
    case text(String)
    case null
    /// Raw bytes (an IPv6 address's 16, most significant first).
    case blob([UInt8])

    package static func int(_ value: some BinaryInteger) -> SQLValue { .integer(Int64(value)) }
    package static func bool(_ value: Bool) -> SQLValue { .integer(value ? 1 : 0) }
    /// A 64-bit unsigned number (device and inode numbers) stored bit for bit in an INTEGER.
    package static func bits(_ value: UInt64) -> SQLValue { .integer(Int64(bitPattern: value)) }
}
