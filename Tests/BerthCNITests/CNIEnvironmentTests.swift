import BerthNetwork
@testable import BerthCNI
import Testing

@Suite("CNI environment: per-command checks (code 4)")
struct CNIEnvironmentTests {
    let add = ["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c4b213d6fbc5", "CNI_NETNS": "/run/netns/x", "CNI_IFNAME": "eth0", "CNI_PATH": "/a:/b"]

    @Test("the runtime samples are accepted as they came")
    func samples() throws {
        let podman = try CNIEnvironment(try Fixture.environment("podman-cni-ADD.env.txt"))
        #expect(podman.command == .add)
        #expect(podman.path == ["/tmp/rtp31942.a6SM/cni-bin", "/usr/lib/cni"])
        #expect(podman.arg("K8S_POD_NAME") == "web")
        let rich = try CNIEnvironment(try Fixture.environment("podman-cni-ADD-rich.env.txt"))
        #expect(rich.arg("IP") == "10.199.1.77")
        #expect(rich.arg("MAC") == "02:00:00:00:00:77")
        let containerd = try CNIEnvironment(try Fixture.environment("containerd-cri-ADD.env.txt"))
        #expect(containerd.containerID == "50d2d517febe7913738026607b32074e848ae80e19c46865723f2276b2454caa")
        // RemovePodSandbox's second DEL: CNI_NETNS empty.
        let secondDel = try CNIEnvironment(try Fixture.environment("containerd-cri-DEL2.env.txt"))
        #expect(secondDel.command == .del)
        #expect(secondDel.netns.isEmpty)
    }

    @Test("CNI_ARGS splits at the bytes ';' and '=' (U+037E is no ';', '=' before a combining mark is still '='); IgnoreUnknown takes 1 or true in any case")
    func argsBytes() throws {
        let greek = try CNIEnvironment.parseArgs("IgnoreUnknown=1;K8S_POD_NAME=a\u{037E}b")
        #expect(greek.map(\.0) == ["IgnoreUnknown", "K8S_POD_NAME"] && greek.last?.1 == "a\u{037E}b")
        let combining = try CNIEnvironment.parseArgs("IgnoreUnknown=1;NOTE=\u{0301}x")
        #expect(combining.last?.0 == "NOTE" && combining.last?.1 == "\u{0301}x")
        for yes in ["tRuE", "TRUE", "1"] {
            #expect(try CNIEnvironment.parseArgs("IgnoreUnknown=\(yes);K8S_POD_NAME=x").count == 2)
        }
        #expect(throws: CNIError.self) { try CNIEnvironment.parseArgs("IgnoreUnknown=yes;K8S_POD_NAME=x") }
    }

    @Test("CNI_ARGS as the reference's LoadArgs reads it: a key's last value counts, IgnoreUnknown included; 0 and false are booleans too")
    func argsLastWins() throws {
        var environment = add
        environment["CNI_ARGS"] = "IP=10.88.0.5;MAC=02:00:00:00:00:05;IP=10.88.0.6"
        #expect(try CNIEnvironment(environment).arg("IP") == "10.88.0.6")
        let error = try #require(throws: CNIError.self) { try CNIEnvironment.parseArgs("IgnoreUnknown=1;K8S_POD_NAME=x;IgnoreUnknown=0") }
        #expect(error.code == .invalidEnvironment && error.message.contains("unknown key \"K8S_POD_NAME\""), "\(error)")
        #expect(try CNIEnvironment.parseArgs("IgnoreUnknown=false;IgnoreUnknown=TRUE;K8S_POD_NAME=x").count == 3)
        // An empty key is one Berth does not know; an empty value is a value.
        #expect(try CNIEnvironment.parseArgs("IgnoreUnknown=1;=x;K8S_POD_NAME=").map(\.0) == ["IgnoreUnknown", "", "K8S_POD_NAME"])
        #expect(throws: CNIError.self) { try CNIEnvironment.parseArgs("=x") }
    }

    @Test("CNI_ARGS items that are not one KEY=VALUE pair are refused as the reference refuses them: an empty item, two '='", arguments: [
        "IgnoreUnknown=1;K8S_POD_NAME=a=b", "IP=10.88.0.5;;MAC=02:00:00:00:00:05", "IP=10.88.0.5;", ";IP=10.88.0.5", ";", "IgnoreUnknown=1=1",
    ])
    func argsInvalidPairs(args: String) throws {
        let error = try #require(throws: CNIError.self) { try CNIEnvironment.parseArgs(args) }
        #expect(error.code == .invalidEnvironment)
        #expect(error.message.contains("is not KEY=VALUE"), "\(error.message)")
    }

    @Test("refused environments", arguments: [
        (["CNI_COMMAND": ""], "CNI_COMMAND is not set"),
        (["CNI_COMMAND": "add"], "CNI_COMMAND \"add\" is not a CNI command"),
        (["CNI_COMMAND": "ADD", "CNI_NETNS": "/n", "CNI_IFNAME": "eth0"], "CNI_CONTAINERID is not set"),
        (["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "-abc", "CNI_NETNS": "/n", "CNI_IFNAME": "eth0"], "CNI_CONTAINERID \"-abc\" is invalid"),
        (["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "a/b", "CNI_NETNS": "/n", "CNI_IFNAME": "eth0"], "is invalid"),
        (["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "abc", "CNI_IFNAME": "eth0"], "CNI_NETNS is not set"),
        (["CNI_COMMAND": "CHECK", "CNI_CONTAINERID": "abc", "CNI_IFNAME": "eth0"], "CNI_NETNS is not set"),
        (["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "abc", "CNI_NETNS": "/n"], "CNI_IFNAME is not set"),
        (["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "abc", "CNI_NETNS": "/n", "CNI_IFNAME": "a23456789012345x"], "is 16 bytes long"),
        (["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "abc", "CNI_NETNS": "/n", "CNI_IFNAME": "et/h0"], "not a valid interface name"),
        (["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "abc", "CNI_NETNS": "/n", "CNI_IFNAME": "eth:0"], "not a valid interface name"),
        (["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "abc", "CNI_NETNS": "/n", "CNI_IFNAME": "eth 0"], "not a valid interface name"),
        (["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "abc", "CNI_NETNS": "/n", "CNI_IFNAME": ".."], "not a valid interface name"),
        (["CNI_COMMAND": "DEL", "CNI_CONTAINERID": "abc", "CNI_IFNAME": "eth0", "CNI_ARGS": "K8S_POD_NAME=x"], "unknown key \"K8S_POD_NAME\""),
        (["CNI_COMMAND": "DEL", "CNI_CONTAINERID": "abc", "CNI_IFNAME": "eth0", "CNI_ARGS": "IgnoreUnknown=1;novalue"], "is not KEY=VALUE"),
        (["CNI_COMMAND": "ADD", "CNI_CONTAINERID": String(repeating: "a", count: 98), "CNI_NETNS": "/n", "CNI_IFNAME": "eth0"], "(98 bytes) and CNI_IFNAME make an attachment id of 103 bytes"),
        (["CNI_COMMAND": "CHECK", "CNI_CONTAINERID": String(repeating: "a", count: 84), "CNI_NETNS": "/n", "CNI_IFNAME": "@@@@@@"], "attachment id of 103"),
        // Under the old 82-byte container id limit, but its attachment id is over Berth's 102.
        (["CNI_COMMAND": "ADD", "CNI_CONTAINERID": String(repeating: "a", count: 80), "CNI_NETNS": "/n", "CNI_IFNAME": "@@@@@@@@"], "attachment id of 105"),
        (["CNI_COMMAND": "DEL", "CNI_CONTAINERID": String(repeating: "a", count: 200) + "/", "CNI_IFNAME": "eth0"], "is invalid"),
    ])
    func refusals(environment: [String: String], words: String) throws {
        let error = try #require(throws: CNIError.self) { try CNIEnvironment(environment) }
        #expect(error.code == .invalidEnvironment)
        #expect(error.message.contains(words), "\(error.message)")
    }

    @Test("DEL needs no CNI_NETNS and takes a container id of any length; GC, STATUS and VERSION need nothing but the command")
    func optional() throws {
        #expect(try CNIEnvironment(["CNI_COMMAND": "DEL", "CNI_CONTAINERID": "abc", "CNI_IFNAME": "eth0"]).netns == "")
        for command in ["GC", "STATUS", "VERSION"] { _ = try CNIEnvironment(["CNI_COMMAND": command]) }
        // The specification limits no id's length: DEL of one ADD refused as too long must finish.
        let long = String(repeating: "a", count: 200)
        #expect(try CNIEnvironment(["CNI_COMMAND": "DEL", "CNI_CONTAINERID": long, "CNI_IFNAME": "eth0"]).containerID == long)
        #expect(try CNIEnvironment(add).path == ["/a", "/b"])
    }

    @Test("a CNI_* value that is not valid UTF-8 is code 4 naming the variable, not read with U+FFFD in its place")
    func invalidUTF8() throws {
        for (name, bytes) in [("CNI_IFNAME", [0x65, 0x74, 0xFF] as [UInt8]), ("CNI_NETNS", [0x2F, 0xC3]), ("CNI_CONTAINERID", [0x61, 0xED, 0xA0, 0x80])] {
            var variables: CNIVariables = ["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "abc", "CNI_NETNS": "/n", "CNI_IFNAME": "eth0"]
            bytes.withUnsafeBytes { variables.append(name, bytes: $0) }
            #expect(variables.malformedNames == [name])
            let error = try #require(throws: CNIError.self) { try CNIEnvironment(variables) }
            #expect(error.code == .invalidEnvironment && error.message == "\(name) is not valid UTF-8", "\(error)")
        }
        // A variable the specification does not pass is not read, so not refused.
        var other: CNIVariables = ["CNI_COMMAND": "DEL", "CNI_CONTAINERID": "abc", "CNI_IFNAME": "eth0"]
        [UInt8(0xFF)].withUnsafeBytes { other.append("CNI_OTHER", bytes: $0) }
        #expect(try CNIEnvironment(other).command == .del)
        var valid: CNIVariables = ["CNI_COMMAND": "DEL", "CNI_CONTAINERID": "abc"]
        Array("eth\u{E9}".utf8).withUnsafeBytes { valid.append("CNI_IFNAME", bytes: $0) }
        #expect(valid.malformedNames.isEmpty && valid["CNI_IFNAME"] == "eth\u{E9}")
    }

    @Test("attachment ids: readable, reversible, distinct for distinct names")
    func attachmentIDs() {
        #expect(CNIAttachment.endpointID(containerID: "c4b2", ifname: "eth0") == "c4b2-eth0")
        #expect(CNIAttachment.endpointID(containerID: "c", ifname: "net@1") == "c-net_401")
        #expect(CNIAttachment.endpointID(containerID: "c", ifname: "a_b") == "c-a_5Fb")
        #expect(CNIAttachment.endpointID(containerID: "c", ifname: "a_b") != CNIAttachment.endpointID(containerID: "c", ifname: "a_5Fb"))
        #expect(CNIAttachment.containerID(endpointID: "c4b2-eth0", ifname: "eth0") == "c4b2")
        #expect(CNIAttachment.containerID(endpointID: "c-net_401", ifname: "net@1") == "c")
        #expect(CNIAttachment.containerID(endpointID: "c4b2-eth0", ifname: "eth1") == nil)
        // The limit is the attachment id's, Berth's endpoint id limit: 97 bytes of id fit on eth0,
        // an escaped name takes three bytes a byte.
        #expect(CNIAttachment.fits(containerID: String(repeating: "a", count: 97), ifname: "eth0"))
        #expect(!CNIAttachment.fits(containerID: String(repeating: "a", count: 98), ifname: "eth0"))
        #expect(!CNIAttachment.fits(containerID: String(repeating: "a", count: 57), ifname: String(repeating: "@", count: 15)))
        #expect(CNIAttachment.fits(containerID: String(repeating: "a", count: 57), ifname: String(repeating: "@", count: 15 - 1) + "a"))
        #expect(CNIAttachment.maxIDLength == AttachOptions.maxIDLength)
    }

    @Test("attachment ids: the documented limit of the scheme — '-' is not escaped, so (a, b-c) and (a-b, c) share an id; one container's names never do")
    func attachmentIDCollision() {
        #expect(CNIAttachment.endpointID(containerID: "a", ifname: "b-c") == "a-b-c")
        #expect(CNIAttachment.endpointID(containerID: "a-b", ifname: "c") == "a-b-c")
        // Either pair reads the shared id back as its own: only the record's interface name tells them apart.
        #expect(CNIAttachment.containerID(endpointID: "a-b-c", ifname: "b-c") == "a")
        #expect(CNIAttachment.containerID(endpointID: "a-b-c", ifname: "c") == "a-b")
        #expect(CNIAttachment.endpointID(containerID: "a", ifname: "b-c") != CNIAttachment.endpointID(containerID: "a", ifname: "c"))
    }
}
