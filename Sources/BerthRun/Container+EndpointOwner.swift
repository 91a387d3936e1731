import BerthCore
import BerthNamespace
import BerthNetwork

extension Container {
    /// Refuses a detach of an endpoint that an active container (running, starting or
    /// waiting to restart, under a live supervisor) owns, naming it: its command would go on
    /// cut off from its network while `berth ps` shows it up. `argument` is what the caller
    /// named and `endpoint` what it names (nil for none); a container's own name refuses too.
    /// The container's stop detaches its endpoint. For `NetworkManager.detach(check:)`: it
    /// runs inside that detach's transaction, so no container starts or stops between.
    public static func refuseDetachingActive(_ tx: StateTransaction, argument: String, endpoint: EndpointRecord?) throws(BerthError) {
        // A state no container ever ran in has no table of them.
        guard try tx.schemaVersion(of: ContainerSchema.owner) > 0 else { return }
        let owner = try tx.db().queryFirst("""
            SELECT name, status, supervisor_pid, supervisor_start_time FROM containers
            WHERE endpoint = ?1 OR (?2 = 1 AND name = ?3 AND endpoint IS NOT NULL) LIMIT 1
            """, [.text(endpoint?.id ?? ""), .int(endpoint == nil ? 1 : 0), .text(argument)]) { row in
            Owner(name: row.text(0), status: row.text(1), pid: row.isNull(2) ? 0 : row.int64(2), startTime: row.bits(3))
        }
        guard let owner, owner.status != ContainerRecord.Status.exited.rawValue, let pid = Int32(exactly: owner.pid), pid > 0,
              ProcessIdentity(pid: pid, startTime: owner.startTime).isAlive else { return }
        let what = endpoint.map { "endpoint \(EndpointShortID.display($0.id)) belongs to running container \(owner.name)" }
            ?? "\(argument) is a running container"
        throw BerthError(.conflict, what, object: .endpoint(endpoint?.id ?? argument), operation: .detach,
                         remedy: .stop(.container(owner.name)))
    }

    private struct Owner {
        var name: String
        var status: String
        var pid: Int64
        var startTime: UInt64
    }
}
