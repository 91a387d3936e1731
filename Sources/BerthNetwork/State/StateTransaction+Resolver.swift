public import BerthCore

extension StateTransaction {
    /// The recorded resolver process, or nil when none was started (or it was stopped).
    public func resolver() throws(BerthError) -> ResolverProcess? {
        try db().queryFirst("SELECT pid, start_time FROM resolver WHERE singleton = 1", []) { row in
            ResolverProcess(pid: Int32(truncatingIfNeeded: row.int64(0)), startTime: row.bits(1))
        }
    }

    /// Records the resolver process that now runs.
    package func setResolver(_ process: ResolverProcess) throws(BerthError) {
        try db().execute("""
            INSERT INTO resolver (singleton, pid, start_time, started) VALUES (1, ?, ?, ?)
            ON CONFLICT (singleton) DO UPDATE SET pid = excluded.pid, start_time = excluded.start_time, started = excluded.started
            """, [.int(process.pid), .bits(process.startTime), .integer(StateClock.now())])
    }

    /// Forgets the resolver process.
    package func clearResolver() throws(BerthError) {
        try db().execute("DELETE FROM resolver", [])
    }
}
