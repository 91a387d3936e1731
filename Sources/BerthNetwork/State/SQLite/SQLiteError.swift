internal import CSQLite
import BerthCore

/// A failure reported by SQLite: its extended result code and its own message.
///
/// Carried as the `cause` of a `BerthError(.state, …)` so the printed error names both
/// Berth's operation and SQLite's words for what went wrong.
public struct SQLiteError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The extended result code (`SQLITE_CONSTRAINT_UNIQUE`, `SQLITE_BUSY`, …).
    public let code: Int32
    /// `sqlite3_errmsg` at the time of the failure.
    public let message: String

    /// A failure with the extended result `code` and SQLite's `message`.
    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    /// SQLITE_CONSTRAINT_TRIGGER, a `RAISE(ABORT, …)` in a trigger (a macro Swift cannot import).
    static let constraintTrigger: Int32 = SQLITE_CONSTRAINT | (7 << 8)

    /// The primary result code: the low byte of the extended one.
    public var primaryCode: Int32 { code & 0xFF }

    /// Whether a UNIQUE, PRIMARY KEY, CHECK or FOREIGN KEY constraint refused the change.
    public var isConstraintViolation: Bool { primaryCode == SQLITE_CONSTRAINT }

    /// SQLite's message and the extended code: `database is locked (sqlite code 5)`.
    public var description: String { "\(message) (sqlite code \(code))" }
}

extension BerthError {
    /// A failed SQLite call, naming Berth's operation (`op`) and the statement it ran.
    static func sqlite(_ op: String, sql: String? = nil, _ cause: SQLiteError) -> BerthError {
        var message = "state database: \(op) failed"
        if let sql { message += " for \"\(Self.abbreviated(sql))\"" }
        let hint: String? = switch cause.primaryCode {
        case SQLITE_BUSY, SQLITE_LOCKED: "another process holds the state database; retry, or look for a stuck one"
        case SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_PERM: "check that the state directory is writable by this user (run as root, or choose another state directory)"
        case SQLITE_CORRUPT, SQLITE_NOTADB: "the state database is damaged; move it aside to start from empty state"
        default: nil
        }
        return BerthError(.state, message, hint: hint, cause: cause)
    }

    /// Collapses whitespace and trims long SQL so an error stays one readable line.
    private static func abbreviated(_ sql: String) -> String {
        let words = sql.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
        let line = words.joined(separator: " ")
        return line.count > 120 ? String(line.prefix(117)) + "..." : line
    }
}
