@testable import berth
import BerthCore
import BerthRun
import Testing

/// `berth network rm` of a network in use names what holds it, each with its own remedy.
@Suite("berth network rm: what blocks the removal")
struct NetworkRemoveHintTests {
    private let refusal = BerthError(.conflict, "network ny has 2 endpoints attached: ep9, sy", hint: "detach its endpoints first",
                                     object: .network("ny"), remedy: .detachEndpoints)

    private func container(_ name: String, endpoint: String?, network: String = "ny", status: ContainerRecord.Status) -> ContainerRecord {
        ContainerRecord(id: String(repeating: "a", count: 64), name: name, endpointID: endpoint, network: network, process: nil,
                        supervisor: nil, command: ["sleep", "1d"], hostname: name, rootfs: nil, status: status, created: 1)
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
