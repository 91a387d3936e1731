import BerthCore
import BerthNamespace
@testable import BerthNetwork
import Foundation
import Testing

@Suite("StateStore: files, schema, transactions")
struct StateStoreTests {
    @Test("a new store creates a 0700 directory, 0600 files, WAL journaling and the current schema version")
    func createsFilesAndSchema() throws {
        try withStore { store, temp throws in
            #expect(fileMode(temp.directory).map { $0 & S_IFMT } == S_IFDIR)
            #expect(fileMode(temp.directory).map { $0 & 0o7777 } == 0o700)
            // A write makes SQLite create the -wal and -shm files; they must be private too.
            try store.write { tx throws(BerthError) in try tx.insertNetwork(try Fixture.network()) }
            for name in ["state.db", "lock", "state.db-wal", "state.db-shm"] {
                let mode = fileMode(temp.directory + "/" + name)
                #expect(mode.map { $0 & S_IFMT } == S_IFREG, "\(name)")
                #expect(mode.map { $0 & 0o7777 } == 0o600, "\(name)")
            }
            let tables = try store.read { tx throws(BerthError) in
                try tx.db().query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") { row in row.text(0) }
            }
            // Tables of higher targets (BerthRun's containers) come with their owner's StateExtension.
            #expect(tables == ["endpoints", "instance", "ipv6_prefix", "networks", "port_mappings", "publication_ports", "publications", "resolver", "schema_versions"])
            // SQLite counts every PRAGMA as a statement that may write, so these run in `write`.
            #expect(try store.write { tx throws(BerthError) in try StateSchema.version(tx.db()) } == StateSchema.currentVersion)
            #expect(try store.write { tx throws(BerthError) in try tx.db().queryFirst("PRAGMA journal_mode") { $0.text(0) } } == "wal")
            #expect(try store.write { tx throws(BerthError) in try tx.db().queryFirst("PRAGMA foreign_keys") { $0.int(0) } } == 1)
            // synchronous NORMAL is 1.
            #expect(try store.write { tx throws(BerthError) in try tx.db().queryFirst("PRAGMA synchronous") { $0.int(0) } } == 1)
        }
    }

    @Test("state survives closing and reopening; the schema is not applied twice")
    func reopen() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        do {
            let store = try temp.open()
            try store.write { tx throws(BerthError) in try tx.insertNetwork(try Fixture.network()) }
        }
        let again = try temp.open()
        #expect(try again.read { tx throws(BerthError) in try tx.networks().map(\.name) } == ["web"])
    }

    @Test("a state directory that others can read is tightened to 0700; one they can write is refused")
    func directoryPermissions() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        try FileManager.default.createDirectory(atPath: temp.directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        _ = try temp.open()
        #expect(fileMode(temp.directory).map { $0 & 0o7777 } == 0o700)

        let open = temp.root + "/world-writable"
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: false)
        chmod(open, 0o777)
        let error = #expect(throws: BerthError.self) { try StateStore(directory: open) }
        #expect(error?.code == .permissionDenied)
        #expect(error?.message.contains(open) == true)
        #expect(fileMode(open + "/state.db") == nil)
    }

    @Test("a state directory another user owns, or under a directory others can write that is not sticky, is refused; under a sticky one it is not",
          .enabled(if: geteuid() == 0, "giving a directory to another user takes root"))
    func ownerAndAncestors() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        // Another user's directory: its owner could swap state.db under root.
        let theirs = temp.root + "/theirs"
        try FileManager.default.createDirectory(atPath: theirs, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        try #require(chown(theirs, 4242, 4242) == 0)
        let owned = #expect(throws: BerthError.self) { try StateStore(directory: theirs) }
        #expect(owned?.code == .permissionDenied && owned?.message.contains("belongs to user id 4242") == true, "\(String(describing: owned))")
        #expect(fileMode(theirs + "/state.db") == nil)

        // Under a directory anyone can write (not sticky): anyone could rename it away.
        let open = temp.root + "/open"
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: false)
        chmod(open, 0o777)
        let under = #expect(throws: BerthError.self) { try StateStore(directory: open + "/state") }
        #expect(under?.code == .permissionDenied && under?.message.contains("\(open), above the state directory \(open)/state, is writable by group or others (mode 0777)") == true,
                "\(String(describing: under))")
        #expect(fileMode(open + "/state/state.db") == nil)
        // And one owned by another user, however tight.
        let foreign = temp.root + "/foreign"
        try FileManager.default.createDirectory(atPath: foreign + "/state", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try #require(chown(foreign, 4242, 4242) == 0)
        let foreignError = #expect(throws: BerthError.self) { try StateStore(directory: foreign + "/state") }
        #expect(foreignError?.message.contains("\(foreign), above the state directory") == true, "\(String(describing: foreignError))")

        // A symlinked ancestor is judged by what it leads into too: here a root-owned
        // directory inside another user's.
        let inner = foreign + "/inner"
        try FileManager.default.createDirectory(atPath: inner, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        let link = temp.root + "/link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: inner)
        let linked = #expect(throws: BerthError.self) { try StateStore(directory: link + "/state") }
        #expect(linked?.message.contains("\(foreign), above the state directory \(link)/state, belongs to user id 4242") == true,
                "\(String(describing: linked))")

        // Sticky, as /tmp: others cannot rename what they do not own.
        let sticky = temp.root + "/sticky"
        try FileManager.default.createDirectory(atPath: sticky, withIntermediateDirectories: false)
        chmod(sticky, 0o1777)
        _ = try StateStore(directory: sticky + "/state")
        #expect(fileMode(sticky + "/state/state.db") != nil)
    }

    @Test("a symlink planted as the resolver's lock is refused and its target is left untouched")
    func symlinkedResolverLock() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        try FileManager.default.createDirectory(atPath: temp.directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let target = temp.root + "/victim"
        let original = Data("do not truncate\n".utf8)
        try original.write(to: URL(fileURLWithPath: target))
        try FileManager.default.createSymbolicLink(atPath: ResolverLock.path(stateDirectory: temp.directory), withDestinationPath: target)
        let error = #expect(throws: BerthError.self) {
            try ResolverLock.acquire(stateDirectory: temp.directory, as: ProcessIdentity(pid: 1, startTime: 1))
        }
        #expect(error?.code == .permissionDenied && error?.message.contains("is a symbolic link") == true, "\(String(describing: error))")
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == original)
    }

    @Test("a symlinked state directory is refused and its target is left untouched")
    func symlinkedDirectory() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        let target = temp.root + "/elsewhere"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        try FileManager.default.createSymbolicLink(atPath: temp.directory, withDestinationPath: target)
        let error = #expect(throws: BerthError.self) { try temp.open() }
        #expect(error?.message.contains("symbolic link") == true)
        #expect(error?.message.contains(temp.directory) == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: target).isEmpty)
    }

    @Test("a symlink planted as a state file is refused and its target is left untouched", arguments: ["state.db", "lock", "state.db-wal", "state.db-shm"])
    func symlinkedFile(name: String) throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        try FileManager.default.createDirectory(atPath: temp.directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let target = temp.root + "/victim"
        let original = Data("do not touch\n".utf8)
        try original.write(to: URL(fileURLWithPath: target))
        chmod(target, 0o644)
        try FileManager.default.createSymbolicLink(atPath: temp.directory + "/" + name, withDestinationPath: target)

        let error = #expect(throws: BerthError.self) { try temp.open() }
        #expect(error?.code == .permissionDenied)
        #expect(error?.message.contains("\(temp.directory)/\(name) is a symbolic link") == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == original)
        #expect(fileMode(target).map { $0 & 0o7777 } == 0o644)
    }

    @Test("a failed write transaction leaves nothing behind")
    func rollback() throws {
        try withStore { (store: StateStore, _: TempState) throws in
            #expect(throws: BerthError.self) {
                try store.write { tx throws(BerthError) in
                    try tx.insertNetwork(try Fixture.network("a", bridge: "br-a"))
                    try tx.insertNetwork(try Fixture.network("b", bridge: "br-a"))  // same bridge: refused
                }
            }
            #expect(try store.read { tx throws(BerthError) in try tx.networks() }.isEmpty)
        }
    }

    @Test("a read transaction refuses to write, and a transaction used after its closure throws")
    func transactionGuards() throws {
        try withStore { store, _ throws in
            let readError = #expect(throws: BerthError.self) {
                try store.read { tx throws(BerthError) in try tx.insertNetwork(try Fixture.network()) }
            }
            #expect(readError?.code == .internalError)
            #expect(try store.read { tx throws(BerthError) in try tx.networks() }.isEmpty)

            let escaped = try store.read { tx throws(BerthError) in EscapedBox(tx) }
            let late = #expect(throws: BerthError.self) { try escaped.tx.networks() }
            #expect(late?.message.contains("after its closure returned") == true)
        }
    }

    @Test("SQL errors name the operation, the statement and SQLite's message")
    func sqlErrors() throws {
        try withStore { store, _ throws in
            let error = #expect(throws: BerthError.self) {
                try store.read { tx throws(BerthError) in try tx.db().query("SELECT nope FROM networks") { $0.int(0) } }
            }
            #expect(error?.code == .state)
            #expect(error?.message.contains("prepare failed for \"SELECT nope FROM networks\"") == true)
            #expect((error?.cause as? SQLiteError)?.message.contains("no such column: nope") == true)
        }
    }

    @Test("the state directory comes from the option, else BERTH_STATE_DIR, else /var/lib/berth")
    func resolveDirectory() {
        #expect(StateStore.resolveDirectory("/tmp/explicit") == "/tmp/explicit")
        // Reading the environment of this (shared) test process: only the fallback order is
        // checked, without setting the variable under other tests' feet.
        let env = ProcessInfo.processInfo.environment["BERTH_STATE_DIR"]
        #expect(StateStore.resolveDirectory(nil) == ((env?.isEmpty ?? true) ? "/var/lib/berth" : env!))
    }
}

/// Smuggles a transaction out of its closure, to check that this is caught.
struct EscapedBox: @unchecked Sendable {
    let tx: StateTransaction
    init(_ tx: StateTransaction) { self.tx = tx }
}
