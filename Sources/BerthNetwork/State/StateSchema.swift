import BerthCore

/// The database schema of BerthNetwork's own tables, versioned with `PRAGMA user_version`.
/// Tables of higher targets are versioned apart, per owner (`StateExtension`).
///
/// Each migration moves the schema from version `index` to `index + 1` and runs inside the
/// same locked write transaction that bumps `user_version`, so a crash mid-migration leaves
/// the old version intact and two processes opening a fresh store never both migrate.
enum StateSchema {
    static let migrations: [String] = [
        // Version 1: networks, endpoints (whose ipv4 column is the address lease), port mappings.
        """
        CREATE TABLE networks (
            name     TEXT PRIMARY KEY,
            id       TEXT NOT NULL UNIQUE,
            bridge   TEXT NOT NULL UNIQUE,
            subnet   TEXT NOT NULL,
            gateway  TEXT NOT NULL,
            mtu      INTEGER NOT NULL,
            internal INTEGER NOT NULL CHECK (internal IN (0, 1)),
            created  INTEGER NOT NULL
        ) STRICT;

        -- ipv4 is the address as a 32-bit number: UNIQUE (network, ipv4) makes the row the
        -- lease, and its index hands IPAM the used addresses of a network already sorted.
        CREATE TABLE endpoints (
            id             TEXT PRIMARY KEY,
            network        TEXT NOT NULL REFERENCES networks (name) ON DELETE RESTRICT,
            netns_path     TEXT NOT NULL,
            netns_dev      INTEGER NOT NULL,
            netns_ino      INTEGER NOT NULL,
            ifname         TEXT NOT NULL,
            host_veth      TEXT NOT NULL UNIQUE,
            ipv4           INTEGER NOT NULL CHECK (ipv4 BETWEEN 0 AND 4294967295),
            mac            TEXT NOT NULL,
            created        INTEGER NOT NULL,
            UNIQUE (network, ipv4)
        ) STRICT;

        -- The key (protocol, host_port, host_address) has one owner: the store itself refuses
        -- a second. Port before address so "every holder of tcp/8080, any address" is an
        -- index range too (a wildcard 0.0.0.0 and a specific address clash in the kernel).
        CREATE TABLE port_mappings (
            endpoint       TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
            protocol       TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp', 'sctp')),
            host_address   TEXT NOT NULL,
            host_port      INTEGER NOT NULL CHECK (host_port BETWEEN 1 AND 65535),
            container_port INTEGER NOT NULL CHECK (container_port BETWEEN 1 AND 65535),
            PRIMARY KEY (protocol, host_port, host_address)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX port_mappings_by_endpoint ON port_mappings (endpoint);
        """,
        // Version 2 created the `containers` table of `berth run`. That table now belongs to
        // BerthRun, which adopts it through its own `StateExtension`; a new store skips it.
        "",
        // Version 3: the versions of the tables that targets above BerthNetwork keep in this
        // store (see `StateExtension`), one row per owner.
        """
        CREATE TABLE schema_versions (
            owner   TEXT PRIMARY KEY,
            version INTEGER NOT NULL CHECK (version >= 0)
        ) STRICT;
        """,
        // Version 4: ports published to an address whose interface another program made
        // (Berth wired nothing but the map elements). Their keys share one owner with the
        // endpoints' port_mappings; the allocator checks both tables, the kernel's refusal
        // of a duplicate element backs that check.
        """
        CREATE TABLE publications (
            id         TEXT PRIMARY KEY,
            grp        TEXT NOT NULL,
            ipv4       INTEGER NOT NULL CHECK (ipv4 BETWEEN 0 AND 4294967295),
            netns_path TEXT NOT NULL,
            netns_dev  INTEGER NOT NULL,
            netns_ino  INTEGER NOT NULL,
            host_link  TEXT,
            created    INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX publications_by_group ON publications (grp);
        CREATE TABLE publication_ports (
            publication    TEXT NOT NULL REFERENCES publications (id) ON DELETE CASCADE,
            protocol       TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp', 'sctp')),
            host_address   TEXT NOT NULL,
            host_port      INTEGER NOT NULL CHECK (host_port BETWEEN 1 AND 65535),
            container_port INTEGER NOT NULL CHECK (container_port BETWEEN 1 AND 65535),
            PRIMARY KEY (protocol, host_port, host_address)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX publication_ports_by_publication ON publication_ports (publication);
        """,
        // Version 5: the instance this store is (its kernel objects carry its id, so several
        // state directories share a host without touching each other's), bridges a network
        // adopted rather than made, and endpoints whose detach has begun.
        //
        // A store that already records networks or publications was made before instances:
        // its objects carry tags without an id, and `legacy` lets it keep recognising them
        // (see StateInstance).
        """
        CREATE TABLE instance (
            singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
            id        TEXT NOT NULL CHECK (length(id) = 8 AND id NOT GLOB '*[^0-9a-f]*'),
            legacy    INTEGER NOT NULL CHECK (legacy IN (0, 1))
        ) STRICT;
        INSERT INTO instance (singleton, id, legacy)
            VALUES (1, lower(hex(randomblob(4))), (SELECT (SELECT count(*) FROM networks) + (SELECT count(*) FROM publications) > 0));
        ALTER TABLE networks ADD COLUMN bridge_adopted INTEGER NOT NULL DEFAULT 0 CHECK (bridge_adopted IN (0, 1));
        ALTER TABLE networks ADD COLUMN gateway_added INTEGER NOT NULL DEFAULT 1 CHECK (gateway_added IN (0, 1));
        ALTER TABLE endpoints ADD COLUMN detaching INTEGER NOT NULL DEFAULT 0 CHECK (detaching IN (0, 1));
        """,
        // IPv6 (issue 15): a network's IPv6 subnet and gateway (both NULL on an IPv4-only
        // network, as every older network is), an endpoint's IPv6 lease, and the host's
        // RFC 4193 unique local prefix that automatic IPv6 subnets come from.
        //
        // ipv6 is the address's 16 bytes, most significant first, so SQLite's memcmp order of
        // BLOBs is the numeric order IPAM walks; the unique index makes the row the lease
        // (NULLs are distinct, so IPv4-only endpoints never clash). The global ID is drawn
        // here, once per store, and kept: the same network name gets the same /64 back.
        """
        ALTER TABLE networks ADD COLUMN ipv6_subnet TEXT;
        ALTER TABLE networks ADD COLUMN ipv6_gateway TEXT CHECK ((ipv6_gateway IS NULL) = (ipv6_subnet IS NULL));
        ALTER TABLE endpoints ADD COLUMN ipv6 BLOB CHECK (ipv6 IS NULL OR length(ipv6) = 16);
        CREATE UNIQUE INDEX endpoints_by_ipv6 ON endpoints (network, ipv6);
        CREATE TABLE ipv6_prefix (
            singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
            global_id INTEGER NOT NULL CHECK (global_id BETWEEN 0 AND 1099511627775)
        ) STRICT;
        INSERT INTO ipv6_prefix (singleton, global_id) VALUES (1, random() & 1099511627775);
        """,
        // Version 7: name resolution (docs/dns.md). A network's DNS flag and its own upstream
        // servers; an endpoint's name and aliases (comma-separated), a name unique per network
        // regardless of case; the resolver process (berth-dns), as pid and start time so that
        // a recycled pid is never signalled. Networks made before this version keep DNS off:
        // an upgrade changes nothing for containers already running.
        """
        ALTER TABLE networks ADD COLUMN dns INTEGER NOT NULL DEFAULT 0 CHECK (dns IN (0, 1));
        ALTER TABLE networks ADD COLUMN dns_upstreams TEXT;
        ALTER TABLE endpoints ADD COLUMN name TEXT;
        ALTER TABLE endpoints ADD COLUMN aliases TEXT;
        CREATE UNIQUE INDEX endpoints_by_name ON endpoints (network, lower(name)) WHERE name IS NOT NULL;
        CREATE TABLE resolver (
            singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
            pid        INTEGER NOT NULL CHECK (pid > 0),
            start_time INTEGER NOT NULL,
            started    INTEGER NOT NULL
        ) STRICT;
        """,
        // Version 8: IPv6-only networks (issue 15, `--ipv4=false`). A network's IPv4 subnet
        // and gateway, and an endpoint's IPv4 lease, may be NULL; a network keeps at least one
        // family, and an endpoint holds an address of each family its network has (a CHECK
        // cannot look at another table: two triggers do, on insert and on a change of either
        // address). SQLite cannot drop NOT NULL in place, so both tables are rebuilt as
        // sqlite.org/lang_altertable.html ("Making Other Kinds Of Table Schema Changes")
        // says: new table, copy, drop, rename, indexes again — with foreign keys off around
        // the transaction (`rebuildsTables`), or dropping `networks` would be refused (ON
        // DELETE RESTRICT) and dropping `endpoints` would delete every port mapping (ON DELETE
        // CASCADE). Columns keep their order, names, types, defaults and checks; the indexes
        // are made with the text they had.
        """
        CREATE TABLE new_networks (
            name     TEXT PRIMARY KEY,
            id       TEXT NOT NULL UNIQUE,
            bridge   TEXT NOT NULL UNIQUE,
            subnet   TEXT,
            gateway  TEXT CHECK ((gateway IS NULL) = (subnet IS NULL)),
            mtu      INTEGER NOT NULL,
            internal INTEGER NOT NULL CHECK (internal IN (0, 1)),
            created  INTEGER NOT NULL,
            bridge_adopted INTEGER NOT NULL DEFAULT 0 CHECK (bridge_adopted IN (0, 1)),
            gateway_added  INTEGER NOT NULL DEFAULT 1 CHECK (gateway_added IN (0, 1)),
            ipv6_subnet    TEXT,
            ipv6_gateway   TEXT CHECK ((ipv6_gateway IS NULL) = (ipv6_subnet IS NULL)),
            dns            INTEGER NOT NULL DEFAULT 0 CHECK (dns IN (0, 1)),
            dns_upstreams  TEXT,
            CHECK (subnet IS NOT NULL OR ipv6_subnet IS NOT NULL)
        ) STRICT;
        INSERT INTO new_networks (name, id, bridge, subnet, gateway, mtu, internal, created, bridge_adopted, gateway_added,
                                  ipv6_subnet, ipv6_gateway, dns, dns_upstreams)
            SELECT name, id, bridge, subnet, gateway, mtu, internal, created, bridge_adopted, gateway_added,
                   ipv6_subnet, ipv6_gateway, dns, dns_upstreams FROM networks;
        DROP TABLE networks;
        ALTER TABLE new_networks RENAME TO networks;

        CREATE TABLE new_endpoints (
            id             TEXT PRIMARY KEY,
            network        TEXT NOT NULL REFERENCES networks (name) ON DELETE RESTRICT,
            netns_path     TEXT NOT NULL,
            netns_dev      INTEGER NOT NULL,
            netns_ino      INTEGER NOT NULL,
            ifname         TEXT NOT NULL,
            host_veth      TEXT NOT NULL UNIQUE,
            ipv4           INTEGER CHECK (ipv4 BETWEEN 0 AND 4294967295),
            mac            TEXT NOT NULL,
            created        INTEGER NOT NULL,
            detaching      INTEGER NOT NULL DEFAULT 0 CHECK (detaching IN (0, 1)),
            ipv6           BLOB CHECK (ipv6 IS NULL OR length(ipv6) = 16),
            name           TEXT,
            aliases        TEXT,
            UNIQUE (network, ipv4),
            CHECK (ipv4 IS NOT NULL OR ipv6 IS NOT NULL)
        ) STRICT;
        INSERT INTO new_endpoints (id, network, netns_path, netns_dev, netns_ino, ifname, host_veth, ipv4, mac, created,
                                   detaching, ipv6, name, aliases)
            SELECT id, network, netns_path, netns_dev, netns_ino, ifname, host_veth, ipv4, mac, created,
                   detaching, ipv6, name, aliases FROM endpoints;
        DROP TABLE endpoints;
        ALTER TABLE new_endpoints RENAME TO endpoints;
        CREATE UNIQUE INDEX endpoints_by_ipv6 ON endpoints (network, ipv6);
        CREATE UNIQUE INDEX endpoints_by_name ON endpoints (network, lower(name)) WHERE name IS NOT NULL;

        CREATE TRIGGER endpoints_families_on_insert BEFORE INSERT ON endpoints
        WHEN (NEW.ipv4 IS NULL) != ((SELECT subnet FROM networks WHERE name = NEW.network) IS NULL)
          OR (NEW.ipv6 IS NULL) != ((SELECT ipv6_subnet FROM networks WHERE name = NEW.network) IS NULL)
        BEGIN
            SELECT RAISE(ABORT, 'an endpoint needs an address of each family of its network, and no other');
        END;
        CREATE TRIGGER endpoints_families_on_update BEFORE UPDATE OF ipv4, ipv6, network ON endpoints
        WHEN (NEW.ipv4 IS NULL) != ((SELECT subnet FROM networks WHERE name = NEW.network) IS NULL)
          OR (NEW.ipv6 IS NULL) != ((SELECT ipv6_subnet FROM networks WHERE name = NEW.network) IS NULL)
        BEGIN
            SELECT RAISE(ABORT, 'an endpoint needs an address of each family of its network, and no other');
        END;
        """,
        // Version 9: the port tables' protocol CHECK as three comparisons instead of
        // `protocol IN ('tcp', 'udp', 'sctp')`, which allows the same values. SQLite codes an
        // IN list of more than two constants in a CHECK as a temporary b-tree that it builds
        // anew for every row written (SQLite 3.40, which Berth links): a 1,000-port range spent
        // 27 M of its 46 M instructions of port rows there (docs/performance.md, perf5). A
        // CHECK cannot be changed in place, so both tables are rebuilt as version 8 rebuilds
        // its own. No table's foreign key names these two, but their rows name endpoints and
        // publications: it is listed in `rebuildsTables`, so a row a hand edit left pointing
        // nowhere stops the migration with foreign_key_check's worded error instead of
        // SQLite's bare constraint failure at the copy.
        """
        CREATE TABLE new_port_mappings (
            endpoint       TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
            protocol       TEXT NOT NULL CHECK (protocol = 'tcp' OR protocol = 'udp' OR protocol = 'sctp'),
            host_address   TEXT NOT NULL,
            host_port      INTEGER NOT NULL CHECK (host_port BETWEEN 1 AND 65535),
            container_port INTEGER NOT NULL CHECK (container_port BETWEEN 1 AND 65535),
            PRIMARY KEY (protocol, host_port, host_address)
        ) STRICT, WITHOUT ROWID;
        INSERT INTO new_port_mappings (endpoint, protocol, host_address, host_port, container_port)
            SELECT endpoint, protocol, host_address, host_port, container_port FROM port_mappings;
        DROP TABLE port_mappings;
        ALTER TABLE new_port_mappings RENAME TO port_mappings;
        CREATE INDEX port_mappings_by_endpoint ON port_mappings (endpoint);

        CREATE TABLE new_publication_ports (
            publication    TEXT NOT NULL REFERENCES publications (id) ON DELETE CASCADE,
            protocol       TEXT NOT NULL CHECK (protocol = 'tcp' OR protocol = 'udp' OR protocol = 'sctp'),
            host_address   TEXT NOT NULL,
            host_port      INTEGER NOT NULL CHECK (host_port BETWEEN 1 AND 65535),
            container_port INTEGER NOT NULL CHECK (container_port BETWEEN 1 AND 65535),
            PRIMARY KEY (protocol, host_port, host_address)
        ) STRICT, WITHOUT ROWID;
        INSERT INTO new_publication_ports (publication, protocol, host_address, host_port, container_port)
            SELECT publication, protocol, host_address, host_port, container_port FROM publication_ports;
        DROP TABLE publication_ports;
        ALTER TABLE new_publication_ports RENAME TO publication_ports;
        CREATE INDEX publication_ports_by_publication ON publication_ports (publication);
        """,
        // Version 10: version 8's two triggers go. Every connection parsed both at its first
        // statement and every INSERT INTO endpoints prepared one: 0.18 M instructions of each
        // `berth attach` and berth-cni ADD (docs/performance.md, perf8). Their rule, an
        // endpoint holds an address of each family of its network and no other, is checked
        // by `StateTransaction.insertEndpoint` (with the error the trigger gave), the only
        // statement of Berth that writes an endpoint's addresses or network; none changes
        // them later.
        """
        DROP TRIGGER IF EXISTS endpoints_families_on_insert;
        DROP TRIGGER IF EXISTS endpoints_families_on_update;
        """,
        // Version 11: a publication's IPv6 address (berth-cni chained behind a dual-stack or
        // IPv6-only plugin publishes to the container's address of each family). `ipv6` is
        // the address's 16 bytes, as an endpoint's; `ipv4` may now be NULL, and a publication
        // keeps at least one. SQLite cannot drop NOT NULL in place, so the table is rebuilt as
        // version 8 rebuilds its own, with foreign keys off around the transaction
        // (`rebuildsTables`): publication_ports names it ON DELETE CASCADE, so dropping it
        // with them on would delete every publication's ports. Columns keep their order,
        // names, types and checks; `ipv6` comes last, as ALTER TABLE would have put it.
        """
        CREATE TABLE new_publications (
            id         TEXT PRIMARY KEY,
            grp        TEXT NOT NULL,
            ipv4       INTEGER CHECK (ipv4 BETWEEN 0 AND 4294967295),
            netns_path TEXT NOT NULL,
            netns_dev  INTEGER NOT NULL,
            netns_ino  INTEGER NOT NULL,
            host_link  TEXT,
            created    INTEGER NOT NULL,
            ipv6       BLOB CHECK (ipv6 IS NULL OR length(ipv6) = 16),
            CHECK (ipv4 IS NOT NULL OR ipv6 IS NOT NULL)
        ) STRICT;
        INSERT INTO new_publications (id, grp, ipv4, netns_path, netns_dev, netns_ino, host_link, created)
            SELECT id, grp, ipv4, netns_path, netns_dev, netns_ino, host_link, created FROM publications;
        DROP TABLE publications;
        ALTER TABLE new_publications RENAME TO publications;
        CREATE INDEX publications_by_group ON publications (grp);
        """,
        // Version 12: the boot the state's kernel objects belong to (`KernelAccess.bootID`;
        // StateTransaction+Boot.swift). A reboot destroys them all while this file survives:
        // the first write after one forgets the endpoints, publications and resolver of the
        // earlier boot. NULL until a write records the boot it runs in; a store upgraded
        // here is on a running system, so that first write forgets nothing. No NOT NULL or
        // DEFAULT: every process parses the table's text at open (docs/performance.md).
        """
        ALTER TABLE instance ADD COLUMN boot TEXT;
        """,
        // Version 13: a network's phase (NetworkRecord.Phase). A create commits the network
        // as 'creating' before its kernel work and a removal commits 'removing' before its
        // own; the final commit clears it (NULL: ready). A crash in between leaves the mark,
        // and gc (or a create or removal of the same name) finishes it as a removal. Every
        // older network is ready. No NOT NULL or DEFAULT (the table's text is parsed at every
        // open, docs/performance.md); two comparisons, not an IN list (version 9).
        """
        ALTER TABLE networks ADD COLUMN phase TEXT CHECK (phase = 'creating' OR phase = 'removing');
        """,
        // Version 14: a network's address ranges and auxiliary addresses (`--ip-range`,
        // `--aux-address`; NetworkRecord.ipRange, ipv6Range, auxiliaryAddresses). The ranges
        // are `AddressRange` text (`10.60.0.128/25` or `10.60.0.100-10.60.0.199`); the
        // auxiliary addresses `NAME=ADDRESS` items joined by ',' (names hold neither '=' nor
        // ','), in name order. NULL: the whole subnet, no auxiliary address — every older
        // network. Read with the row attach reads already, so attach makes no query more.
        // No CHECK, NOT NULL or DEFAULT (the table's text is parsed at every open,
        // docs/performance.md): the decoder refuses unreadable text, naming the network.
        """
        ALTER TABLE networks ADD COLUMN ip_range TEXT;
        ALTER TABLE networks ADD COLUMN ipv6_range TEXT;
        ALTER TABLE networks ADD COLUMN aux_addresses TEXT;
        """,
    ]

    /// The versions whose migration rebuilds tables that other tables' foreign keys name
    /// (version `v` here is the migration at index `v - 1`). `migrate` runs outside any
    /// transaction with `PRAGMA foreign_keys = OFF` around its transaction when one of them is
    /// pending — a PRAGMA that is a no-op inside a transaction, so the runner, not the
    /// migration, sets it — and checks `PRAGMA foreign_key_check` before it commits.
    static let rebuildsTables: Set<Int> = [8, 9, 11]

    static var currentVersion: Int { migrations.count }

    static func version(_ db: Database) throws(BerthError) -> Int {
        try db.queryFirst("PRAGMA user_version") { row in row.int(0) } ?? 0
    }

    /// Brings the schema to `currentVersion` in one `BEGIN IMMEDIATE` transaction (a crash or
    /// an error leaves the version it found). Called outside any transaction, under the
    /// store's lock. When a pending migration rebuilds tables (`rebuildsTables`), foreign key
    /// enforcement is off for the transaction and back on after it, and the transaction
    /// commits only if `PRAGMA foreign_key_check` finds no row pointing nowhere.
    /// `failPoint` (tests) is called after the migrations, before the commit.
    static func migrate(_ db: Database, to target: Int = currentVersion, failPoint: (() throws(BerthError) -> Void)? = nil) throws(BerthError) {
        let found = try version(db)
        guard found <= currentVersion else {
            throw BerthError(.state, "state database \(db.path) has schema version \(found), newer than this Berth understands (\(currentVersion))",
                             hint: "use a newer Berth, or another state directory",
                             object: .state(db.path), parameter: "stateDirectory")
        }
        guard found < target else { return }
        let rebuilds = (found + 1...target).contains { rebuildsTables.contains($0) }
        if rebuilds { try db.script("PRAGMA foreign_keys = OFF") }
        defer { if rebuilds { try? db.script("PRAGMA foreign_keys = ON") } }
        try db.script("BEGIN IMMEDIATE")
        do throws(BerthError) {
            for version in found..<target {
                try db.script(migrations[version])
            }
            if rebuilds {
                let dangling = try db.query("PRAGMA foreign_key_check", []) { row in row.text(0) }
                guard dangling.isEmpty else {
                    throw BerthError(.state, "state database \(db.path): migrating to schema version \(target) would leave rows of \(Set(dangling).sorted().joined(separator: ", ")) pointing at rows that do not exist",
                                     hint: "the state database was changed outside Berth; keep a copy and report it", object: .state(db.path))
                }
            }
            try db.script("PRAGMA user_version = \(target)")
            try failPoint?()
            try db.script("COMMIT")
        } catch {
            try? db.script("ROLLBACK")
            throw error
        }
    }
}
