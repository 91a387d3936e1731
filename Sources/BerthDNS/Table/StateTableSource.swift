public import BerthCore
public import BerthNamespace
import BerthNetwork
internal import CBerthDNS
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The resolver's names from Berth's state: one zone per ready network with DNS on — its gateway
/// to listen on, its subnet, the names and aliases of its endpoints with their addresses,
/// and its own upstreams (none for an internal network: nothing is forwarded out of it).
///
/// Attach and detach change the state and then send the resolver SIGHUP
/// (`NetworkManager`'s resolver lifecycle, docs/dns.md), which reloads through `load()`:
/// one read transaction, no lock, so a reload never waits for a writer.
///
/// The state directory is watched too: when its database is deleted (the directory
/// removed), the table is empty, so a resolver started with `exitWhenEmpty` ends rather
/// than serve a state nobody can change any more.
public final class StateTableSource: DNSTableSource {
    /// The state directory.
    public let directory: String
    private var store: StateStore?
    private let watch: Int32
    /// This process, when it is the state's resolver: the `resolver` row an exit clears.
    private let resolver: ProcessIdentity?
    /// The descriptor holding the state's resolver lock (`ResolverLock`), released when the
    /// resolver decides to exit; -1 when none is held or it was released.
    private var lockDescriptor: Int32

    /// The names of the state in `directory`; `resolver` and `lockDescriptor` when this
    /// process is the state's resolver, holding its lock (`ResolverLock.acquire`): an exit
    /// then clears its record and lets the lock go (`confirmExit`).
    public init(directory: String, resolver: ProcessIdentity? = nil, lockDescriptor: Int32 = -1) {
        self.directory = directory
        self.resolver = resolver
        self.lockDescriptor = lockDescriptor
        var fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        if fd >= 0, inotify_add_watch(fd, directory, UInt32(IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_MOVED_FROM)) < 0 {
            close(fd)
            fd = -1
        }
        watch = fd
    }

    deinit { if watch >= 0 { close(watch) } }

    public func load() throws(BerthError) -> DNSTable {
        guard hasDatabase else { return DNSTable() }
        let (networks, endpoints) = try openStore().read { tx throws(BerthError) in
            (try tx.networks().filter(\.dns), try tx.endpoints().filter { !$0.isDetaching })
        }
        return try Self.table(networks: networks, endpoints: endpoints)
    }

    /// The table of `networks` (those with DNS on) and their named `endpoints`. A network
    /// whose create or removal did not finish (`NetworkRecord.Phase`) is not served: its
    /// bridge and gateway may be gone or about to go, and nothing attaches to it. What the
    /// resolver cannot use — an upstream that does not parse, an endpoint whose name
    /// clashes, a network without gateway — is left out with a log line
    /// (`DNSTable.keepingValid`), so one bad record never stops every network's reload.
    public static func table(networks: [NetworkRecord], endpoints: [EndpointRecord]) throws(BerthError) -> DNSTable {
        var byNetwork: [String: [DNSEndpointNames]] = [:]
        // Every endpoint, named or not, marks its addresses as its container's (by network
        // namespace), so a container on several networks gets the names of each.
        var members: [String: [IPAddress: String]] = [:]
        for endpoint in endpoints {
            for address in endpoint.addresses { members[endpoint.network, default: [:]][address] = endpoint.namespaceIdentity.description }
            guard endpoint.hasNames else { continue }
            // Both are checked at attach; a name the resolver cannot use is left out rather
            // than failing the whole table. An endpoint with aliases and no name (the CNI
            // capability) is named by its short id, as Docker answers a container's.
            guard let name = try? DNSName(hostname: endpoint.name ?? String(endpoint.id.prefix(12))) else { continue }
            let aliases = endpoint.aliases.compactMap { try? DNSName(hostname: $0) }
            // A dual-stack endpoint answers AAAA too (and PTR for its IPv6 address).
            let addresses = endpoint.addresses
            byNetwork[endpoint.network, default: []].append(DNSEndpointNames(name: name, aliases: aliases, addresses: addresses))
        }
        var zones: [DNSNetworkZone] = []
        for network in networks where network.phase == .ready {
            var upstreams: [DNSUpstream]?
            if network.isInternal {
                upstreams = []
            } else if !network.dnsUpstreams.isEmpty {
                // Checked at create; one that no longer parses is left out, not the table.
                // None left forwards nothing: the network asked not to use the host's.
                upstreams = network.dnsUpstreams.compactMap { text in
                    do throws(BerthError) {
                        return try DNSUpstream(parsing: text)
                    } catch {
                        DNSLog.write("network \(network.name): upstream \"\(text)\" left out: \(error.message)")
                        return nil
                    }
                }
            }
            // The resolver listens on the IPv4 gateway only (what containers' resolv.conf names),
            // on an IPv6-only network on the IPv6 gateway; the IPv6 subnet is served so that
            // its reverse names are answered and never forwarded.
            let listen: [IPAddress] = if let gateway = network.gateway { [.v4(gateway)] } else { network.ipv6Gateway.map { [.v6($0)] } ?? [] }
            zones.append(DNSNetworkZone(name: network.name, listenAddresses: listen,
                                        subnets: [network.subnet, network.ipv6Subnet].compactMap { $0 },
                                        endpoints: byNetwork[network.name] ?? [], upstreams: upstreams,
                                        members: members[network.name] ?? [:]))
        }
        // A name clash the attach's check did not see (an endpoint named by its id, which
        // only the table gives it) costs that endpoint, not every network's reload.
        return DNSTable(networks: zones).keepingValid { DNSLog.write("state table: \($0)") }
    }

    /// Decides the exit in a write transaction, under the lock every attach takes: when no
    /// ready network has DNS on, the `resolver` row is cleared if it is this process's, and
    /// the resolver lock let go, before the commit; otherwise false (an attach made one
    /// ready after `load`: the server reloads and serves it). Decided from `load`'s read
    /// alone, an attach committing in between would find this resolver recorded and
    /// running — or, its record cleared, holding the lock — and reuse it just as it exits,
    /// leaving its container without names until the next attach or reconcile. Once the
    /// lock is let go the answer is true whatever happens: a holder of no lock must not
    /// serve (a second resolver may start); a record left by a failed commit names a
    /// process that is gone, which the next attach replaces.
    public func confirmExit() throws(BerthError) -> Bool {
        guard hasDatabase else {
            releaseLock()
            return true
        }
        var letGo = false
        do {
            return try openStore().write { tx throws(BerthError) -> Bool in
                guard try !tx.networks().contains(where: { $0.dns && $0.phase == .ready }) else { return false }
                if let resolver, try tx.resolver() == resolver { try tx.clearResolver() }
                releaseLock()
                letGo = true
                return true
            }
        } catch {
            guard letGo else { throw error }
            DNSLog.write("exiting; the resolver record may remain (its commit failed): \(error)")
            return true
        }
    }

    /// How long `confirmExit` waits for Berth's state lock before the server retries.
    static let exitLockWait: Duration = .milliseconds(100)

    private var hasDatabase: Bool { access(directory + "/" + StateStore.databaseName, F_OK) == 0 }

    private func openStore() throws(BerthError) -> StateStore {
        if let store { return store }
        // Only `confirmExit` writes, from the server's loop: a short wait for the lock, then
        // a retry like a failed reload, so the loop keeps reading its signals (gc's SIGTERM
        // comes while gc holds this very lock).
        let opened = try StateStore(directory: directory, lockTimeout: Self.exitLockWait)
        store = opened
        return opened
    }

    private func releaseLock() {
        guard lockDescriptor >= 0 else { return }
        close(lockDescriptor)
        lockDescriptor = -1
    }

    public var changeDescriptor: Int32? { watch >= 0 ? watch : nil }

    /// Any deletion in the directory may be the database's; `load` looks.
    public func drainChanges() -> Bool {
        var changed = false
        var buffer = [UInt8](repeating: 0, count: 4096)
        while read(watch, &buffer, buffer.count) > 0 { changed = true }
        return changed
    }
}
