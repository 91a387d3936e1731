@testable import berth
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// `berth network create -o KEY=VALUE`: Docker's bridge driver options.
@Suite("berth network create -o")
struct NetworkOptionsTests {
    @Test("-o maps the bridge name and the MTU; masquerade and icc only as true; a key given twice takes its last value")
    func parses() throws {
        let options = try NetworkDriverOptions(parsing: [
            "com.docker.network.bridge.name=br-x", "com.docker.network.driver.mtu=1400", "com.docker.network.driver.mtu=1450",
            "com.docker.network.bridge.enable_ip_masquerade=true", "com.docker.network.bridge.enable_icc=1",
        ])
        #expect(options == NetworkDriverOptions(bridge: "br-x", mtu: 1450))
        #expect(try NetworkDriverOptions(parsing: []) == NetworkDriverOptions())
        // Podman's name for the MTU.
        #expect(try NetworkDriverOptions(parsing: ["mtu=1400"]) == NetworkDriverOptions(mtu: 1400))
    }

    @Test("-o refuses other keys by name, turning masquerade or icc off, bad values and what is not KEY=VALUE", arguments: [
        ("com.docker.network.bridge.host_binding_ipv4=0.0.0.0", BerthError.Code.unsupported, "unsupported bridge network option com.docker.network.bridge.host_binding_ipv4"),
        ("foo=bar", .unsupported, "unsupported bridge network option foo"),
        ("com.docker.network.bridge.enable_ip_masquerade=false", .unsupported, "unsupported bridge network option com.docker.network.bridge.enable_ip_masquerade=false"),
        ("com.docker.network.bridge.enable_icc=0", .unsupported, "unsupported bridge network option com.docker.network.bridge.enable_icc=0"),
        ("com.docker.network.bridge.enable_icc=maybe", .invalidArgument, "is not true or false"),
        ("com.docker.network.driver.mtu=big", .invalidArgument, "the MTU is not a number"),
        ("mtu=big", .invalidArgument, "-o mtu=big: the MTU is not a number"),
        ("com.docker.network.bridge.name=", .invalidArgument, "has no value"),
        ("nokey", .invalidArgument, "is not KEY=VALUE"),
        ("=value", .invalidArgument, "is not KEY=VALUE"),
    ])
    func refuses(option: String, code: BerthError.Code, fragment: String) throws {
        let error = #expect(throws: BerthError.self) { try NetworkDriverOptions(parsing: [option]) }
        #expect(error?.code == code && error?.message.contains(fragment) == true, "\(String(describing: error))")
    }

    @Test("a flag and -o of the same thing must agree")
    func merge() throws {
        #expect(try NetworkDriverOptions.merge(1400, 1400, flagName: "--mtu", key: NetworkDriverOptions.mtu) == 1400)
        #expect(try NetworkDriverOptions.merge(nil, 1400, flagName: "--mtu", key: NetworkDriverOptions.mtu) == 1400)
        #expect(try NetworkDriverOptions.merge(1400, nil, flagName: "--mtu", key: NetworkDriverOptions.mtu) == 1400)
        let error = #expect(throws: BerthError.self) { try NetworkDriverOptions.merge(1400, 1500, flagName: "--mtu", key: NetworkDriverOptions.mtu) }
        #expect(error?.message.contains("--mtu 1400 and -o com.docker.network.driver.mtu=1500 disagree") == true)
    }
}

@Suite("berth CLI: network create -o (kernel)", .enabled(if: try KernelTests.enabled))
struct NetworkOptionsCLITests {
    @Test("-o com.docker.network.bridge.name and com.docker.network.driver.mtu make the bridge Docker's script asks for")
    func driverOptions() throws {
        try withHostSandbox { sandbox in
            let create = sandbox.berth(["network", "create", "web", "--subnet", "10.49.0.0/24",
                                        "-o", "com.docker.network.bridge.name=brdocker", "--opt=com.docker.network.driver.mtu=1400",
                                        "-o", "com.docker.network.bridge.enable_icc=true"])
            #expect(create.succeeded, "\(create)")
            let link = sandbox.run(["ip", "-o", "link", "show", "dev", "brdocker"]).stdout
            #expect(link.contains("mtu 1400"), "\(link)")
        }
    }

    @Test("the flags of network create and rm take pflag's values: --internal=true, --ipv6=false, rm --force=true; any other value, the empty one too, is refused naming the flag")
    func flagValues() throws {
        try withHostSandbox { sandbox in
            let create = sandbox.berth(["network", "create", "web", "--subnet", "10.49.1.0/24", "--internal=true", "--ipv6=false", "--bridge-existing=false",
                                        "-o", "mtu=1400"])
            #expect(create.status == 0 && create.stdout == "web\n", "\(create)")
            let json = sandbox.berth(["network", "inspect", "web", "--json=true"])
            let network = try #require((try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])?.first, "\(json)")
            #expect(network["internal"] as? Bool == true && network["ipv6"] as? Bool == false && network["mtu"] as? Int == 1400, "\(network)")
            let maybe = sandbox.berth(["network", "create", "db", "--internal=maybe"])
            #expect(maybe.status == 64 && maybe.stderr.hasPrefix("berth: the flag '--internal' takes true or false after '=', but 'maybe' was given"),
                    "\(maybe)")
            // An empty value too, which argument-parser alone would take as the flag.
            let empty = sandbox.berth(["network", "create", "db", "--internal="])
            #expect(empty.status == 64 && empty.stderr.hasPrefix("berth: the flag '--internal' takes true or false after '=', but '' was given"),
                    "\(empty)")
            #expect(sandbox.berth(["network", "ls", "-q"]).stdout == "web\n", "db was never made")
            let forced = sandbox.berth(["network", "rm", "--force=true", "nosuch", "web"])
            #expect(forced.status == 0 && forced.stdout == "web\n" && forced.stderr == "berth: no network named \"nosuch\": nothing to remove\n", "\(forced)")
            let unforced = sandbox.berth(["network", "rm", "-f=false", "nosuch"])
            #expect(unforced.status == 1 && unforced.stderr.contains("no network named \"nosuch\" (see 'berth network ls')"), "\(unforced)")
        }
    }

    @Test("an unsupported -o key is refused by name, and nothing is made")
    func unsupportedKey() throws {
        try withHostSandbox { sandbox in
            let create = sandbox.berth(["network", "create", "web", "-o", "com.docker.network.bridge.host_binding_ipv4=127.0.0.1"])
            #expect(create.status == 1 && create.stderr.contains("unsupported bridge network option com.docker.network.bridge.host_binding_ipv4"),
                    "\(create)")
            #expect(CLIOracle.bridgeNames(sandbox).isEmpty)
            #expect(sandbox.berth(["network", "ls"]).stdout.split(separator: "\n").count == 1)
        }
    }
}
