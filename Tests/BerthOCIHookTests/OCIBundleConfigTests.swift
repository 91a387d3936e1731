import BerthCore
import BerthOCIHook
import Testing

@Suite("bundle config.json and annotations")
struct OCIBundleConfigTests {
    @Test("runc spec and crun spec give a new network namespace", arguments: ["runc-spec.config.json", "crun-spec.config.json"])
    func specs(name: String) throws {
        let config = try OCIBundleConfig(parsing: try Fixtures.bytes(name))
        #expect(config.networkNamespace == .new)
        #expect(config.annotations.isEmpty)
        #expect(config.environment.contains { $0.hasPrefix("PATH=") })
    }

    @Test("the network namespace: joined by path, new, or none of its own")
    func namespaces() throws {
        func parse(_ namespaces: String) throws -> OCIBundleConfig.NetworkNamespace {
            try OCIBundleConfig(parsing: Array(#"{"linux":{"namespaces":\#(namespaces)}}"#.utf8)).networkNamespace
        }
        #expect(try parse(#"[{"type":"pid"},{"type":"network","path":"/run/netns/web"}]"#) == .path("/run/netns/web"))
        #expect(try parse(#"[{"type":"network","path":""}]"#) == .new)
        #expect(try parse(#"[{"type":"pid"},{"type":"mount"}]"#) == .shared)
        #expect(try parse("[]") == .shared)
        #expect(try OCIBundleConfig(parsing: Array("{}".utf8)).networkNamespace == .shared)
        #expect(throws: BerthError.self) { _ = try parse(#"[{"type":"network","path":3}]"#) }
        // The spec's path MUST be absolute: a relative one would be recorded relative, and
        // poststop and gc, elsewhere, would take the namespace for gone.
        for relative in ["netns", "./netns", "run/netns/web"] {
            let error = try #require(throws: BerthError.self) { _ = try parse(#"[{"type":"network","path":"\#(relative)"}]"#) }
            #expect(error.code == .invalidArgument && error.parameter == "linux.namespaces", "\(error)")
            #expect(error.message == #"config.json: the network namespace's "path" \#(relative) in linux.namespaces is not absolute (the OCI runtime spec requires an absolute path)"#)
        }
        #expect(throws: BerthError.self) { _ = try parse(#"[{"path":"/x"}]"#) }
        #expect(throws: BerthError.self) { _ = try parse(#"{"type":"network"}"#) }
    }

    @Test("annotations and environment are read; wrong types are refused, naming the file")
    func members() throws {
        let config = try OCIBundleConfig(parsing: Array(#"{"annotations":{"berth.ip":"10.0.0.5"},"process":{"env":["A=1","BERTH_IP=x"]}}"#.utf8))
        #expect(config.annotations == ["berth.ip": "10.0.0.5"])
        #expect(config.environment == ["A=1", "BERTH_IP=x"])
        let error = try #require(throws: BerthError.self) {
            _ = try OCIBundleConfig(parsing: Array(#"{"process":{"env":[1]}}"#.utf8), path: "/b/config.json")
        }
        #expect(error.message == "/b/config.json: an entry of process.env is not a string")
        let broken = try #require(throws: BerthError.self) { _ = try OCIBundleConfig(parsing: Array("{".utf8), path: "/b/config.json") }
        #expect(broken.message.hasPrefix("/b/config.json is not valid JSON"))
    }

    @Test("what the hook leaves unbuilt (mounts, capabilities, seccomp) is still checked as strict JSON", arguments: [
        #"{"mounts":[{"destination":"/proc",}]}"#, #"{"process":{"capabilities":{"bounding":["CAP_KILL" "CAP_NET_RAW"]}}}"#,
        #"{"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO","defaultAction":"SCMP_ACT_ALLOW"}}}"#, #"{"root":{"path":"rootfs\x"}}"#,
    ])
    func leftOutMembersAreChecked(text: String) throws {
        let error = try #require(throws: BerthError.self) { _ = try OCIBundleConfig(parsing: Array(text.utf8), path: "/b/config.json") }
        #expect(error.message.hasPrefix("/b/config.json is not valid JSON: invalid JSON at line 1"), "\(error.message)")
    }

    @Test("berth.* annotations become a request; others are ignored")
    func annotations() throws {
        let request = try HookAnnotations(["berth.network": " web ", "berth.publish": "8080:80, 127.0.0.1:5353:53/udp,9000-9001:9000-9001",
                                           "berth.ip": "10.88.0.9", "berth.mac": "02:42:0a:58:00:09", "org.example": "x"])
        #expect(request.network == "web")
        #expect(request.ports == [try PortSpec(parsing: "8080:80"), try PortSpec(parsing: "127.0.0.1:5353:53/udp"),
                                  try PortSpec(parsing: "9000-9001:9000-9001")])
        #expect(request.address == IPv4Address(10, 88, 0, 9))
        #expect(request.mac == (try MACAddress(parsing: "02:42:0a:58:00:09")))
        #expect(request.ipv6Address == nil)
        #expect(try HookAnnotations(["berth.ip6": " fd00:88::9 "]).ipv6Address == IPv6Address("fd00:88::9"))
        #expect(HookAnnotations.present(in: ["berth.ip6": "fd00:88::9"]))
        #expect(try HookAnnotations([:]) == HookAnnotations())
        #expect(try HookAnnotations(["berth.publish": ""]).ports.isEmpty)
        #expect(HookAnnotations.present(in: ["berth.publish": "80"]))
        #expect(!HookAnnotations.present(in: ["org.example.berth.ip": "10.0.0.1"]))
    }

    @Test("a malformed annotation is refused, naming it", arguments: [
        (["berth.ip": "10.0.0.300"], "berth.ip"),
        (["berth.ip": "fd00::9"], "berth.ip"),
        (["berth.ip6": "10.0.0.9"], "berth.ip6"),
        (["berth.mac": "02:42"], "berth.mac"),
        (["berth.publish": "8080:80,"], "berth.publish"),
        (["berth.publish": "80:99999"], "berth.publish"),
        (["berth.network": "  "], "berth.network"),
    ])
    func refusedAnnotation(annotations: [String: String], key: String) {
        #expect {
            _ = try HookAnnotations(annotations)
        } throws: { error in
            guard let error = error as? BerthError else { return false }
            return error.message.hasPrefix("annotation \(key)") && error.parameter == key && error.object?.name == key
        }
    }

    @Test("annotations as pairs: lookups, the state's value wins a merge, equality ignores order")
    func annotationPairs() {
        let config: OCIAnnotations = ["berth.ip": "10.0.0.5", "berth.publish": "80"]
        let state: OCIAnnotations = ["berth.publish": "8080:80", "other": "x"]
        let merged = config.merging(state)
        #expect(merged == ["other": "x", "berth.publish": "8080:80", "berth.ip": "10.0.0.5"])
        #expect(merged.count == 3 && merged["berth.publish"] == "8080:80" && merged["missing"] == nil)
        #expect(merged.dictionary == ["berth.ip": "10.0.0.5", "berth.publish": "8080:80", "other": "x"])
        #expect(merged.hashValue == OCIAnnotations(merged.dictionary).hashValue)
        #expect(config != state && OCIAnnotations().isEmpty)
    }

    @Test("the state's berth.* annotations win over config.json's, each name on its own; others are ignored")
    func statePrecedence() throws {
        let config: OCIAnnotations = ["berth.ip": "10.88.0.5", "berth.publish": "80", "berth.network": "web"]
        let state: OCIAnnotations = ["berth.publish": "8080:80", "berth.network": "db", "other": "x"]
        let request = try HookAnnotations(state, over: config)
        #expect(request == HookAnnotations(network: "db", ports: [try PortSpec(parsing: "8080:80")], address: IPv4Address("10.88.0.5")))
        // A malformed value in config.json that the state overrides is never read.
        #expect(try HookAnnotations(["berth.mac": "02:42:0a:58:00:05"], over: ["berth.mac": "nonsense"]).mac == MACAddress("02:42:0a:58:00:05"))
        #expect(throws: BerthError.self) { try HookAnnotations(OCIAnnotations(), over: ["berth.mac": "nonsense"]) }
    }

    @Test("a state of 100,000 annotations (what fits the 1 MiB cap) is read, Berth's among them, with config.json's filling in")
    func manyAnnotations() throws {
        var text = #"{"ociVersion":"1.0.2","id":"web","status":"creating","pid":42,"bundle":"/b","annotations":{"#
        for index in 0..<100_000 { text += #""\#(String(index, radix: 36))":"","# }
        text += #""berth.publish":"8080:80"}}"#
        #expect(text.utf8.count <= OCIState.maxSize)
        let state = try OCIState(parsing: Array(text.utf8))
        #expect(state.annotations.count == 100_001)
        let request = try HookAnnotations(state.annotations, over: ["berth.publish": "9090:90", "berth.ip": "10.88.0.7"])
        #expect(request.ports.map(\.description) == ["8080:80/tcp"])
        #expect(request.address == IPv4Address("10.88.0.7") && request.network == nil)
    }
}
