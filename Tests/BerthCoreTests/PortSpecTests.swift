import BerthCore
import Testing

@Suite("PortSpec")
struct PortSpecTests {
    struct Example: Sendable, CustomTestStringConvertible {
        var text: String
        var hostAddress: String?
        var hostPorts: String?
        var containerPorts: String
        var proto: TransportProtocol
        var canonical: String
        /// The `docker ps` text of each mapping, or nil when a host port is left to choose.
        var mappings: [String]?
        var testDescription: String { text }
    }

    static let examples: [Example] = [
        .init(text: "8080:80", hostPorts: "8080", containerPorts: "80", proto: .tcp,
              canonical: "8080:80/tcp", mappings: ["0.0.0.0:8080->80/tcp"]),
        .init(text: "127.0.0.1:8080:80", hostAddress: "127.0.0.1", hostPorts: "8080", containerPorts: "80", proto: .tcp,
              canonical: "127.0.0.1:8080:80/tcp", mappings: ["127.0.0.1:8080->80/tcp"]),
        .init(text: "8080:80/udp", hostPorts: "8080", containerPorts: "80", proto: .udp,
              canonical: "8080:80/udp", mappings: ["0.0.0.0:8080->80/udp"]),
        .init(text: "8000-8002:9000-9002", hostPorts: "8000-8002", containerPorts: "9000-9002", proto: .tcp,
              canonical: "8000-8002:9000-9002/tcp",
              mappings: ["0.0.0.0:8000->9000/tcp", "0.0.0.0:8001->9001/tcp", "0.0.0.0:8002->9002/tcp"]),
        .init(text: "80", containerPorts: "80", proto: .tcp, canonical: "80/tcp", mappings: nil),
        .init(text: "127.0.0.1::80", hostAddress: "127.0.0.1", containerPorts: "80", proto: .tcp,
              canonical: "127.0.0.1::80/tcp", mappings: nil),
        .init(text: "8000-8010:80", hostPorts: "8000-8010", containerPorts: "80", proto: .tcp,
              canonical: "8000-8010:80/tcp", mappings: nil),
        .init(text: "[::1]:8080:80", hostAddress: "::1", hostPorts: "8080", containerPorts: "80", proto: .tcp,
              canonical: "[::1]:8080:80/tcp", mappings: ["[::1]:8080->80/tcp"]),
        .init(text: "[fd00::1]:8080:80", hostAddress: "fd00::1", hostPorts: "8080", containerPorts: "80", proto: .tcp,
              canonical: "[fd00::1]:8080:80/tcp", mappings: ["[fd00::1]:8080->80/tcp"]),
        .init(text: "[FD00:0::1]::53/udp", hostAddress: "fd00::1", containerPorts: "53", proto: .udp,
              canonical: "[fd00::1]::53/udp", mappings: nil),
        .init(text: "[::]:443:8443/sctp", hostAddress: "::", hostPorts: "443", containerPorts: "8443", proto: .sctp,
              canonical: "[::]:443:8443/sctp", mappings: ["[::]:443->8443/sctp"]),
        .init(text: "[10.0.0.1]:80:80", hostAddress: "10.0.0.1", hostPorts: "80", containerPorts: "80", proto: .tcp,
              canonical: "10.0.0.1:80:80/tcp", mappings: ["10.0.0.1:80->80/tcp"]),
        .init(text: "0.0.0.0:80:80", hostAddress: "0.0.0.0", hostPorts: "80", containerPorts: "80", proto: .tcp,
              canonical: "0.0.0.0:80:80/tcp", mappings: ["0.0.0.0:80->80/tcp"]),
        .init(text: "53:53/UDP", hostPorts: "53", containerPorts: "53", proto: .udp,
              canonical: "53:53/udp", mappings: ["0.0.0.0:53->53/udp"]),
        .init(text: "9000-9001", containerPorts: "9000-9001", proto: .tcp, canonical: "9000-9001/tcp", mappings: nil),
        .init(text: "80/sctp", containerPorts: "80", proto: .sctp, canonical: "80/sctp", mappings: nil),
        .init(text: ":80", containerPorts: "80", proto: .tcp, canonical: "80/tcp", mappings: nil),
        .init(text: "::80", containerPorts: "80", proto: .tcp, canonical: "80/tcp", mappings: nil),
        // Host port 0 is any free port, as Docker reads it.
        .init(text: "0:80", containerPorts: "80", proto: .tcp, canonical: "80/tcp", mappings: nil),
        .init(text: "127.0.0.1:0:80/udp", hostAddress: "127.0.0.1", containerPorts: "80", proto: .udp,
              canonical: "127.0.0.1::80/udp", mappings: nil),
        .init(text: ":8080:80", hostPorts: "8080", containerPorts: "80", proto: .tcp,
              canonical: "8080:80/tcp", mappings: ["0.0.0.0:8080->80/tcp"]),
        .init(text: "65535:1", hostPorts: "65535", containerPorts: "1", proto: .tcp,
              canonical: "65535:1/tcp", mappings: ["0.0.0.0:65535->1/tcp"]),
        .init(text: "08080:080", hostPorts: "8080", containerPorts: "80", proto: .tcp,
              canonical: "8080:80/tcp", mappings: ["0.0.0.0:8080->80/tcp"]),
        .init(text: "7000-7000:7001", hostPorts: "7000", containerPorts: "7001", proto: .tcp,
              canonical: "7000:7001/tcp", mappings: ["0.0.0.0:7000->7001/tcp"]),
    ]

    @Test(arguments: examples)
    func parsesDockerSyntax(example: Example) throws {
        let spec = try PortSpec(parsing: example.text)
        #expect(spec.hostAddress == example.hostAddress.flatMap(IPAddress.init))
        #expect((spec.hostAddress == nil) == (example.hostAddress == nil))
        #expect(spec.hostPorts?.description == example.hostPorts)
        #expect(spec.containerPorts.description == example.containerPorts)
        #expect(spec.protocol == example.proto)
        #expect(spec.description == example.canonical)
        #expect(try PortSpec(parsing: spec.description) == spec)
        #expect(spec.expand()?.map(\.description) == example.mappings)
        #expect(spec.needsHostPortChoice == (example.mappings == nil))
    }

    @Test(arguments: [
        ("", "empty port mapping"),
        ("0-10:80-90", "host port \"0\" in \"0-10\" is 0"),
        ("8080:0", "container port \"0\" is 0"),
        ("65536:80", "host port \"65536\" is over 65535"),
        ("80:65536", "container port \"65536\" is over 65535"),
        ("http:80", "host port \"http\" is not a number"),
        ("8080:http", "container port \"http\" is not a number"),
        ("8000-8009:9000-9008", "differ in length (10 and 9)"),
        ("8080:9000-9001", "differ in length (1 and 2)"),
        // Host port 0 is any free port for one container port only, as Docker reads it.
        ("0:80-82", "invalid ranges specified for container and host ports: host port 0 with container ports 80-82"),
        ("127.0.0.1:0:53-54/udp", "invalid ranges specified for container and host ports"),
        ("9000-8000:80", "host port range \"9000-8000\" is reversed"),
        ("80:90-85", "container port range \"90-85\" is reversed"),
        ("300.0.0.1:8080:80", "host address \"300.0.0.1\" is not an IP address"),
        ("localhost:8080:80", "host address \"localhost\" is not an IP address"),
        ("[fe80::1%eth0]:8080:80", "host address \"fe80::1%eth0\" is not an IP address"),
        ("[]:8080:80", "host address \"\" is not an IP address"),
        ("[::1:8080:80", "'[' without a closing ']'"),
        ("[::1]8080:80", "expected ':' after \"[::1]\""),
        ("[::1]:80", "expected HOSTPORT:CONTAINERPORT"),
        ("[::1]:1:2:3", "expected HOSTPORT:CONTAINERPORT"),
        ("8080:80/icmp", "unknown protocol \"icmp\""),
        ("8080:80/", "no protocol after '/'"),
        ("80/tcp/udp", "more than one '/'"),
        ("1:2:3:4", "too many ':' (3)"),
        ("127.0.0.1:8080:80:90", "too many ':' (3)"),
        ("::1:8080:80", "IPv6 host address \"::1\" must be in brackets"),
        ("fd00::1:8080:80", "IPv6 host address \"fd00::1\" must be in brackets"),
        ("8080:", "no container port"),
        ("127.0.0.1::", "no container port"),
        ("/udp", "no container port"),
        ("127.0.0.1:80", "\"127.0.0.1\" is an address where a host port belongs"),
        ("8080/tcp:80", "host port \"8080/tcp\" is not a number"),
        ("1-2-3:80", "more than one '-'"),
        ("8000-:80", "is missing a port number"),
        (" 8080:80", "not a number"),
    ])
    func refusesWithTheBadPartNamed(text: String, reason: String) {
        do {
            let spec = try PortSpec(parsing: text)
            Issue.record("accepted \(text.debugDescription) as \(spec)")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains(reason), "\(error.message)")
            if !text.isEmpty { #expect(error.message.contains("\"\(text)\""), "\(error.message)") }
            #expect(error.hint != nil)
        }
        #expect(PortSpec(text) == nil)
    }

    @Test("docker's key=value form reads as docker/cli rewrites it: published:target/protocol, tcp by default", arguments: [
        ("published=8080,target=80", "8080:80/tcp"),
        ("published=8080,target=80,protocol=udp", "8080:80/udp"),
        ("target=80,published=8080,protocol=SCTP", "8080:80/sctp"),
        ("target=80", "80/tcp"),
        ("published=,target=80", "80/tcp"),
        ("published=0,target=53,protocol=udp", "53/udp"),
        ("published=8000-8009,target=9000-9009", "8000-8009:9000-9009/tcp"),
    ])
    func keyValueForm(text: String, canonical: String) throws {
        let spec = try PortSpec(parsing: text)
        #expect(spec.description == canonical)
        let standard = try PortSpec(parsing: canonical)
        #expect(spec == standard)
    }

    @Test("the key=value form refuses what Docker ignores or misreads, naming it", arguments: [
        ("published=8080,80", "invalid publish opts format (should be name=value but got '80')"),
        ("=80", "invalid publish opts format (should be name=value but got '=80')"),
        ("published=8080,target=80,host_ip=127.0.0.1", "host_ip is not supported"),
        ("published=8080,target=80,mode=host", "unknown key \"mode\""),
        ("published=8080,target=80,target=81", "target given twice"),
        ("published=8080", "no target"),
        ("published=8080,target=", "no target"),
        ("published=8080,target=80,protocol=", "protocol= has no value"),
        ("published=8080,target=80,protocol=icmp", "unknown protocol \"icmp\""),
        ("published=127.0.0.1:8080,target=80", "published \"127.0.0.1:8080\" is more than a port or a range"),
        ("published=8080,target=80/udp", "target \"80/udp\" is more than a port or a range"),
        ("published=x,target=80", "host port \"x\" is not a number"),
    ])
    func keyValueRefusals(text: String, reason: String) {
        do {
            let spec = try PortSpec(parsing: text)
            Issue.record("accepted \(text.debugDescription) as \(spec)")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains(reason) && error.message.contains("\"\(text)\""), "\(error.message)")
            #expect(error.hint != nil)
        }
    }

    @Test func hintsShowTheFix() {
        func hint(_ text: String) -> String? {
            do { _ = try PortSpec(parsing: text); return nil } catch { return error.hint }
        }
        #expect(hint("::1:8080:80") == "write [::1]:8080:80")
        #expect(hint("127.0.0.1:80")?.contains("127.0.0.1::80") == true)
        #expect(hint("0:80") == nil)  // accepted: any free host port, as Docker reads it
        #expect(hint("0:80-82") == "leave the host port out for a free one each, like 80-82, or give a host range of 3 ports, like HOSTPORT-END:80-82")
        #expect(hint("9000-8000:80") == "write the lower port first: 8000-9000")
        #expect(hint("8080:80/icmp") == "use tcp, udp or sctp")
        #expect(hint("8000-8009:9000-9008")?.contains("same length") == true)
    }

    @Test func memberwiseChecksRangeLengths() throws {
        let spec = try PortSpec(hostPorts: PortRange(8000, 8001), containerPorts: PortRange(80, 81))
        #expect(spec.protocol == .tcp && spec.hostAddress == nil)
        #expect(throws: BerthError.self) {
            try PortSpec(hostPorts: PortRange(8000, 8002), containerPorts: PortRange(80, 81))
        }
        #expect(try PortSpec(hostPorts: PortRange(8000, 8002), containerPorts: PortRange(80)).needsHostPortChoice)
    }

    @Test func expandChoosingHostPorts() throws {
        // A host range for one container port: the chooser picks one port of the range.
        let ranged = try PortSpec(parsing: "127.0.0.1:8000-8010:80/udp")
        var asked: [(UInt16, PortRange?)] = []
        let mappings = try ranged.expand { container, candidates throws(BerthError) in
            asked.append((container, candidates))
            return 8007
        }
        #expect(mappings.map(\.description) == ["127.0.0.1:8007->80/udp"])
        let expected = try PortRange(8000, 8010)
        #expect(asked.count == 1 && asked[0].0 == 80 && asked[0].1 == expected)
        #expect(throws: BerthError.self) { try ranged.expand { _, _ throws(BerthError) in 8011 } }
        #expect(throws: BerthError.self) { try ranged.expand { _, _ throws(BerthError) in 0 } }

        // No host port: one free port per container port, any port allowed.
        var next: UInt16 = 32768
        let free = try PortSpec(parsing: "9000-9002").expand { _, candidates throws(BerthError) in
            #expect(candidates == nil)
            defer { next += 1 }
            return next
        }
        #expect(free.map(\.description) == ["0.0.0.0:32768->9000/tcp", "0.0.0.0:32769->9001/tcp", "0.0.0.0:32770->9002/tcp"])

        // Fixed host ports never ask.
        let fixed = try PortSpec(parsing: "8080:80").expand { _, _ throws(BerthError) in
            Issue.record("asked for a fixed port")
            return 1
        }
        #expect(fixed.map(\.description) == ["0.0.0.0:8080->80/tcp"])

        // The chooser's own error comes through.
        #expect(throws: BerthError.self) {
            try PortSpec(parsing: "80").expand { _, _ throws(BerthError) in throw BerthError(.conflict, "no free port") }
        }
    }

    @Test func fullRangeExpands() throws {
        let all = try #require(try PortSpec(parsing: "1-65535:1-65535/udp").expand())
        #expect(all.count == 65535)
        #expect(all.first?.description == "0.0.0.0:1->1/udp")
        #expect(all.last?.description == "0.0.0.0:65535->65535/udp")
    }

    @Test func codableAsDockerText() throws {
        let specs = try ["[::1]:8080:80", "127.0.0.1::53/udp", "8000-8001:9000-9001"].map(PortSpec.init(parsing:))
        let (decoded, json) = try jsonRoundTrip(specs)
        #expect(json == #"{"value":["[::1]:8080:80/tcp","127.0.0.1::53/udp","8000-8001:9000-9001/tcp"]}"#)
        #expect(decoded == specs)
        #expect(throws: DecodingError.self) { try jsonDecode(PortSpec.self, fromValue: #""8080:0""#) }
    }
}
