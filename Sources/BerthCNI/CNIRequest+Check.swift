import BerthCore
import BerthNetwork

extension CNIRequest {
    /// CHECK: verifies what ADD made. As the main plugin: the container's interface,
    /// addresses and default routes (both families on a dual-stack network), the host veth on its bridge, the lease and the published
    /// elements (extra routes or addresses a later plugin added are fine), and that
    /// `prevResult` names the same addresses. Chained: the published elements. Code 3 when
    /// Berth knows no such attachment, 110 listing what is missing.
    func check() throws(CNIError) -> JSONValue? {
        try require(config.cniVersion.hasCheck, "0.4.0")
        guard let prevResult = config.prevResult else {
            throw CNIError(.invalidConfig, "CHECK needs prevResult", details: "the runtime passes the result of ADD as prevResult")
        }
        let previous = try CNIResult.parse(prevResult, path: "prevResult")
        let backend = try backend()
        var problems: [String] = []
        var known = true
        do throws(BerthError) {
            if let endpoint = try backend.endpoint(id: attachmentID) {
                problems = try backend.verifyEndpoint(id: attachmentID)
                for address in endpoint.addresses where !previous.ips.contains(where: { $0.address.address == address }) {
                    problems.append("prevResult does not list the attached address \(address)")
                }
            } else if try backend.publication(id: attachmentID) != nil {
                problems = try backend.verifyPublication(id: attachmentID)
            } else if try backend.network(named: config.name) != nil {
                // Berth is this network's main plugin and has no such endpoint.
                known = false
            } else if !config.portMappings.isEmpty {
                problems = ["ports \(config.portMappings.map { "\($0.hostPort)->\($0.containerPort)/\($0.proto)" }.joined(separator: ", ")) are not published"]
            }
        } catch {
            throw CNIError(error)
        }
        guard known else {
            throw CNIError(.unknownContainer, "berth-cni knows no attachment \(env.containerID) \(env.ifname) on network \(config.name)",
                           details: "ADD it first, or DEL and ADD it again")
        }
        if let ipam = try ipamPlugin() {
            _ = try ipam.run(.check, stdin: stdin, environment: environment.dictionary, fallbackStdin: ipamFallbackStdin())
        }
        guard problems.isEmpty else {
            throw CNIError(.attachmentIncomplete, "attachment \(env.containerID) \(env.ifname) is incomplete: \(problems.joined(separator: "; "))",
                           details: "DEL and ADD it again: ADD re-creates what the kernel lost")
        }
        return nil
    }
}
