@testable import berth
import BerthCore
import BerthNamespace
import BerthRun
import Testing

/// `berth network rm` of a network in use names what holds it, each with its own remedy.
@Suite("berth network rm: what blocks the removal")
struct NetworkRemoveHintTests {
    private let refusal = BerthError(.conflict, "network ny has 2 endpoints attached: ep9, sy", hint: "detach its endpoints first",
                                     object: .network("ny"), remedy: .detachEndpoints)

    /// A container record; supervised by this test process (alive) unless `supervised` is false.
    private func container(_ name: String, endpoint: String?, network: String = "ny", status: ContainerRecord.Status,
                           supervised: Bool = true) -> ContainerRecord {
        ContainerRecord(id: String(repeating: "a", count: 64), name: name, endpointID: endpoint, network: network, process: nil,
                        supervisor: supervised ? try? ProcessIdentity.current() : nil, command: ["sleep", "1d"], hostname: name,
                        rootfs: nil, status: status, created: 1)
    }

    @Test("a container whose supervisor died before it released its endpoint (exited or orphaned) is left to 'berth gc', not to 'berth stop', which does nothing for it")
    func unsupervisedContainerIsLeftToGC() {
        let exited = container("sy1", endpoint: "sy1-endpoint", status: .exited, supervised: false)
        let orphan = container("web", endpoint: "web-endpoint", status: .running, supervised: false)
        #expect(!exited.isActive && !orphan.isActive)
        expectMessage(NetworkCommand.Remove.naming(refusal, network: "ny", endpoints: ["sy1-endpoint"], containers: [exited]),
                      "network ny is held by container sy1 whose supervisor is gone ('berth gc' stops it and releases the network)")
        let running = container("db", endpoint: "db-endpoint", status: .running)
        #expect(running.isActive)
        expectMessage(NetworkCommand.Remove.naming(refusal, network: "ny", endpoints: ["db-endpoint", "sy1-endpoint", "web-endpoint"],
                                                   containers: [exited, orphan, running]), """
            network ny is used by running container db and is held by containers sy1, web whose supervisor is gone \
            (stop it first with 'berth stop db', or remove it with 'berth rm -f db'; 'berth gc' stops them and releases the network)
            """)
    }

    @Test("a stopped container keeps its endpoint's id but holds no endpoint: only the attached endpoint is named, with 'berth detach' and its id")
    func stoppedContainerIsNotNamed() {
        let stopped = container("sy1", endpoint: "sy1-endpoint", status: .exited)
        let error = NetworkCommand.Remove.naming(refusal, network: "ny", endpoints: ["ep9"], containers: [stopped])
        #expect(CLIHints.message(for: error) == "network ny has 1 endpoint attached: ep9 (detach it first with 'berth detach ep9')")
    }

    @Test("a running container's endpoint is named by the container, with 'berth stop' and 'berth rm -f'; plain endpoints with 'berth detach'")
    func runningContainerAndEndpoints() {
        let running = container("web", endpoint: "web-endpoint", status: .running)
        let elsewhere = container("db", endpoint: "db-endpoint", network: "other", status: .running)
        let error = NetworkCommand.Remove.naming(refusal, network: "ny", endpoints: ["ep9", "web-endpoint", "ep10"], containers: [running, elsewhere])
        expectMessage(error, """
            network ny has 2 endpoints attached: ep9, ep10 and is used by running container web \
            (detach them first with 'berth detach ep9 ep10'; stop it first with 'berth stop web', or remove it with 'berth rm -f web')
            """)
        let onlyContainer = NetworkCommand.Remove.naming(refusal, network: "ny", endpoints: ["web-endpoint"], containers: [running])
        expectMessage(onlyContainer, "network ny is used by running container web (stop it first with 'berth stop web', or remove it with 'berth rm -f web')")
    }

    @Test("a generated endpoint id is named by its first 12 digits, as 'berth ps' shows it and 'berth detach' takes it")
    func generatedID() {
        let id = String(repeating: "0123456789abcdef", count: 4)
        let error = NetworkCommand.Remove.naming(refusal, network: "ny", endpoints: [id], containers: [])
        expectMessage(error, "network ny has 1 endpoint attached: 0123456789ab (detach it first with 'berth detach 0123456789ab')")
    }

    private func expectMessage(_ error: BerthError, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(CLIHints.message(for: error) == expected, sourceLocation: sourceLocation)
    }
}
