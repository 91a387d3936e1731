import BerthCore
import BerthOCIHook
import Testing

@Suite("OCI state decoding")
struct OCIStateTests {
    /// The samples below are arguments, which cannot throw: an unreadable or moved directory
    /// would run zero of them. Here it fails.
    @Test("the sample states of every runtime are there")
    func samplesPresent() throws {
        let names = try Fixtures.stateNames()
        #expect(names.count == 11, "\(names)")
        for runtime in ["runc", "crun", "podman", "docker"] {
            #expect(names.contains { $0.contains(runtime) }, "no sample state of \(runtime): \(names)")
        }
    }

    @Test("every sample state a runtime wrote decodes", arguments: Fixtures.states)
    func samples(name: String) throws {
        let state = try OCIState(parsing: try Fixtures.bytes(name))
        #expect(!state.id.isEmpty)
        #expect(state.bundle?.hasPrefix("/") == true)
        if name.contains("poststop") {
            // crun writes pid 0, runc and podman leave it out: both read as no pid.
            #expect(state.pid == nil)
            #expect(state.status == "stopped")
        } else {
            #expect((state.pid ?? 0) > 0)
        }
    }

    @Test("runtimes' differences come through as written")
    func runtimeDifferences() throws {
        let crun = try OCIState(parsing: try Fixtures.bytes("oci-hook-crun-createRuntime.state.json"))
        #expect(crun == OCIState(ociVersion: "1.0", id: "rtp13884-c1", status: "created", pid: 14188, bundle: "/tmp/rtp13884.IyAg/bundle",
                                 annotations: ["org.example.berth.ip": "10.199.0.2", "org.example.berth.network": "demo"]))
        let runc = try OCIState(parsing: try Fixtures.bytes("oci-hook-runc-createRuntime.state.json"))
        #expect(runc.ociVersion == "1.0.2-dev")
        #expect(runc.status == "creating")
        #expect(runc.pid == 14698)
        let podman = try OCIState(parsing: try Fixtures.bytes("podman-ocihook-createRuntime.state.json"))
        #expect(podman.id.utf8.count == 64)
        #expect(podman.annotations.count == 9)
        #expect(podman.annotations["io.container.manager"] == "libpod")
        let docker = try OCIState(parsing: try Fixtures.bytes("docker-runtime-wrapper-createRuntime.state.json"))
        #expect(docker.bundle?.hasSuffix("/moby/" + docker.id) == true)
    }

    @Test("unknown members are accepted, null members read as absent")
    func unknownMembers() throws {
        let state = try OCIState(parsing: Array(#"{"id":"c1","future":{"x":[1,2.5,null]},"pid":null,"bundle":null,"annotations":null}"#.utf8))
        #expect(state == OCIState(id: "c1"))
    }

    @Test("malformed or incomplete states are refused, naming the problem", arguments: [
        ("", "not valid JSON"),
        ("{", "not valid JSON"),
        (#"{"id":"c1",}"#, "not valid JSON"),
        (#"{"id":"c1","id":"c2"}"#, "appears twice"),
        (#"{'id':'c1'}"#, "not valid JSON"),
        ("[]", "not a JSON object"),
        (#""c1""#, "not a JSON object"),
        ("{}", #"has no "id""#),
        (#"{"ID":"c1"}"#, #"has no "id""#),
        (#"{"id":""}"#, "not a non-empty string"),
        (#"{"id":42}"#, "not a non-empty string"),
        (#"{"id":null}"#, "not a non-empty string"),
        (#"{"id":"a b"}"#, "spaces or control characters"),
        (#"{"id":"a\u0000b"}"#, "spaces or control characters"),
        (#"{"id":"c1","pid":-1}"#, #""pid" is not a process id"#),
        (#"{"id":"c1","pid":"42"}"#, #""pid" is not a process id"#),
        (#"{"id":"c1","pid":4294967296}"#, #""pid" is not a process id"#),
        (#"{"id":"c1","pid":1.5}"#, #""pid" is not a process id"#),
        (#"{"id":"c1","bundle":7}"#, #""bundle" is not a string"#),
        (#"{"id":"c1","status":false}"#, #""status" is not a string"#),
        (#"{"id":"c1","annotations":[]}"#, #""annotations" is not an object"#),
        (#"{"id":"c1","annotations":{"berth.ip":1}}"#, #"annotation "berth.ip" is not a string"#),
    ])
    func refused(input: String, problem: String) {
        #expect {
            _ = try OCIState(parsing: Array(input.utf8))
        } throws: { error in
            guard let error = error as? BerthError else { return false }
            return error.code == .invalidArgument && error.message.contains(problem)
                && error.message.hasPrefix("the container state") && error.object?.kind == .file
        }
    }

    @Test("invalid UTF-8 is refused")
    func invalidUTF8() {
        #expect(throws: BerthError.self) { _ = try OCIState(parsing: [0x7B, 0x22, 0x69, 0x64, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D]) }
    }

    @Test("a state over the size cap is refused before parsing")
    func sizeCap() throws {
        let padding = String(repeating: " ", count: OCIState.maxSize)
        let error = try #require(throws: BerthError.self) { _ = try OCIState(parsing: Array((#"{"id":"c1"}"# + padding).utf8)) }
        #expect(error.message.contains("larger than \(OCIState.maxSize) bytes"))
        // Exactly at the cap is fine.
        let fits = #"{"id":"c1"}"# + String(repeating: " ", count: OCIState.maxSize - 11)
        #expect(try OCIState(parsing: Array(fits.utf8)).id == "c1")
    }

    @Test("nesting deeper than the parser follows is refused, not a crash")
    func deepNesting() {
        let deep = #"{"id":"c1","x":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        #expect(throws: BerthError.self) { _ = try OCIState(parsing: Array(deep.utf8)) }
    }

    @Test("an empty bundle is refused, naming it (runtimes send an absolute one; the hook would read /config.json)")
    func emptyBundle() throws {
        let error = try #require(throws: BerthError.self) { _ = try OCIState(parsing: Array(#"{"id":"c1","pid":42,"bundle":""}"#.utf8)) }
        #expect(error.parameter == "bundle")
        #expect(error.message.contains("bundle"))
        #expect(try OCIState(parsing: Array(#"{"id":"c1","bundle":"/srv/b"}"#.utf8)).bundle == "/srv/b")
    }

    @Test("a relative bundle is refused, naming it, before anything is read", arguments: ["bundle", "./b", "srv/b", "../b", " /srv/b"])
    func relativeBundle(bundle: String) throws {
        let error = try #require(throws: BerthError.self) {
            _ = try OCIState(parsing: Array(#"{"id":"c1","pid":42,"bundle":"\#(bundle)"}"#.utf8))
        }
        #expect(error.code == .invalidArgument && error.parameter == "bundle")
        #expect(error.message == "the container state's \"bundle\" \(bundle) is not an absolute path (a runtime sends the bundle directory's absolute path; "
                + "a relative one would be read from the hook's working directory)")
    }
}
