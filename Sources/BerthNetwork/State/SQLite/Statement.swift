internal import CSQLite
import BerthCore

/// One prepared statement, owned and cached by its `Database`.
///
/// Callers never hold a `Statement` across operations: `Database.execute`/`query` bind,
/// step and reset it in one call, so a cached statement is always idle between uses.
final class Statement {
    let sql: String
    let handle: OpaquePointer

    init(sql: String, handle: OpaquePointer) {
        self.sql = sql
        self.handle = handle
    }

    deinit { sqlite3_finalize(handle) }

    /// Whether the statement leaves the database unchanged (`sqlite3_stmt_readonly`).
    var isReadOnly: Bool { sqlite3_stmt_readonly(handle) != 0 }

    func bind(_ values: [SQLValue]) throws(BerthError) {
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard expected == values.count else {
            throw BerthError(.internalError, "state database: statement \"\(sql)\" takes \(expected) parameters, given \(values.count)")
        }
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32 = switch value {
            case .integer(let n): sqlite3_bind_int64(handle, index, n)
            case .null: sqlite3_bind_null(handle, index)
            case .blob(let bytes):
                // A zero-length blob still binds as a blob, not NULL: the pointer is never nil.
                bytes.withUnsafeBytes { raw in
                    sqlite3_bind_blob(handle, index, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(raw.count), berth_sqlite3_transient())
                }
            case .text(let s):
                // The count is in bytes; the transient destructor makes SQLite copy them.
                s.withCString { sqlite3_bind_text(handle, index, $0, Int32(s.utf8.count), berth_sqlite3_transient()) }
            }
            guard rc == SQLITE_OK else { throw error("bind parameter \(index)", rc) }
        }
    }

    /// Advances to the next row: true when a row is ready, false when the statement is done.
    func step() throws(BerthError) -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let rc: throw error("step", rc)
        }
    }

    /// Makes the statement idle again and drops its bindings, ready for the next use.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    private func error(_ op: String, _ rc: Int32) -> BerthError {
        let db = sqlite3_db_handle(handle)
        // sqlite3_extended_errcode gives the precise code (UNIQUE vs CHECK…) of the last failure.
        let code = db.map { sqlite3_extended_errcode($0) } ?? rc
        let message = db.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "error \(rc)"
        return .sqlite(op, sql: sql, SQLiteError(code: code, message: message))
    }
}

/// The current row of a stepping statement, read column by column (0-based).
package struct Row: ~Copyable {
    fileprivate let handle: OpaquePointer

    init(_ statement: Statement) { handle = statement.handle }

    package func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    package func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    package func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }
    package func bool(_ column: Int32) -> Bool { sqlite3_column_int64(handle, column) != 0 }
    package func bits(_ column: Int32) -> UInt64 { UInt64(bitPattern: sqlite3_column_int64(handle, column)) }

    /// The column's bytes; empty for NULL or a zero-length blob.
    package func blob(_ column: Int32) -> [UInt8] {
        guard let bytes = sqlite3_column_blob(handle, column) else { return [] }
        let count = Int(sqlite3_column_bytes(handle, column))
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }
    /// The text, or nil for NULL.
    package func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }

    package func text(_ column: Int32) -> String {
        // Ask for the bytes before their count: the text conversion may change the count.
        guard let bytes = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }
}
