internal import CSQLite

/// Direct SQL on a state directory's database, behind Berth's back: for tests that make the
/// state unreadable (a table renamed away) and then whole again.
public enum StateDatabase {
    /// Runs `sql` on `directory`/state.db; throws SQLite's message when it fails.
    public static func execute(_ sql: String, in directory: String) throws {
        var db: OpaquePointer?
        defer { sqlite3_close(db) }
        guard sqlite3_open_v2(directory + "/state.db", &db, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK else {
            throw SandboxError("cannot open the state database in \(directory)")
        }
        sqlite3_busy_timeout(db, 5000)
        var message: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(db, sql, nil, nil, &message) == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(message)
            throw SandboxError("\(sql): \(text)")
        }
    }
}
