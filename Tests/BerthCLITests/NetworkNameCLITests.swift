import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Names the CLI must refuse clearly (issue 12): a network name that reads as an option,
/// reserved names, an unknown network to list, an endpoint id too long for its tag.
@Suite("berth CLI: network names (kernel)", .enabled(if: try KernelTests.enabled))
struct NetworkNameCLITests {
    @Test("a network name beginning with '-' is a clear usage error, never help with status 0", arguments: [
        ["network", "create", "-web"], ["network", "create", "-h2"], ["network", "create", "--subnet", "10.9.0.0/24", "-x"],
        ["network", "rm", "-web"], ["network", "inspect", "-web"],
    ])
    func dashedName(_ args: [String]) throws {
        try withHostSandbox { sandbox in
            let result = sandbox.berth(args)
            #expect(result.status == 64, "\(result)")
            #expect(result.stdout.isEmpty, "\(result)")
            #expect(result.stderr.contains("is not an option of 'berth network \(args[1])', and network names cannot begin with '-'"), "\(result)")
            #expect(CLIOracle.bridgeNames(sandbox).isEmpty)
        }
    }

    @Test("create's options that take a value are not mistaken for a dashed name: --dns false, --dns=false, --dns-upstream ADDR")
    func valuedOptions() throws {
        try withHostSandbox { sandbox in
            for (name, args) in [("a", ["--dns", "false"]), ("b", ["--dns=false"]), ("c", ["--dns-upstream", "192.0.2.53"])] {
                let result = sandbox.berth(["network", "create", name] + args)
                #expect(result.succeeded, "\(args): \(result)")
            }
            #expect(CLIOracle.bridgeNames(sandbox).count == 3)
        }
    }

    @Test("every option of 'network create' that takes a value passes the name check: --dns false creates the network")
    func optionsWithValuesPassTheNameCheck() throws {
        try withHostSandbox { sandbox in
            let help = sandbox.berth(["network", "create", "--help"])
            // The OPTIONS section ("  --subnet <CIDR>  …", "  -o, --opt <KEY=VALUE>  …"): the
            // options followed by a <value>, short and long (the usage line is "[<options>]").
            let options = help.stdout.split(separator: "\n").flatMap { line -> [String] in
                let words = line.split(separator: " ").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: ",")) }
                guard let first = words.first, first.hasPrefix("-"), let value = words.firstIndex(where: { $0.hasPrefix("<") }) else { return [] }
                return words[..<value].filter { $0.hasPrefix("-") }
            }
            #expect(options.contains("--dns") && options.contains("--subnet") && options.contains("-o") && options.contains("--opt"), "\(help)")
            for option in options {
                // No value: argument-parser's own usage error, never the dashed-name one.
                let result = sandbox.berth(["network", "create", "probe", option])
                #expect(result.status == 64 && !result.stderr.contains("is not an option"), "\(option): \(result)")
            }
            let created = sandbox.berth(["network", "create", "quiet", "--subnet", "10.9.0.0/24", "--dns", "false", "--dns-upstream", "127.0.0.1"])
            #expect(created.status == 0 && created.stdout == "quiet\n", "\(created)")
            #expect(CLIOracle.bridgeNames(sandbox).count == 1)
        }
    }

    @Test("after '--' the name reaches the name check; -h and --help still show help")
    func dashedNameAfterSeparator() throws {
        try withHostSandbox { sandbox in
            let named = sandbox.berth(["network", "create", "--", "-web"])
            #expect(named.status == 1 && named.stderr.contains("invalid network name \"-web\""), "\(named)")
            for flag in ["-h", "--help"] {
                let help = sandbox.berth(["network", "create", flag])
                #expect(help.status == 0 && help.stdout.contains("USAGE: berth network create"), "\(help)")
            }
        }
    }

    @Test("reserved network names are refused", arguments: ["none", "host", "bridge", "default"])
    func reserved(_ name: String) throws {
        try withHostSandbox { sandbox in
            let result = sandbox.berth(["network", "create", name, "--subnet", "10.9.0.0/24"])
            #expect(result.status == 1 && result.stderr.contains("network name \"\(name)\" is reserved"), "\(result)")
            #expect(CLIOracle.bridgeNames(sandbox).isEmpty)
        }
    }

    @Test("ps --network of a network that does not exist says so")
    func psUnknownNetwork() throws {
        try withHostSandbox { sandbox in
            let result = sandbox.berth(["ps", "--network", "nosuch"])
            #expect(result.status == 1, "\(result)")
            #expect(result.stderr.contains("no network named \"nosuch\" (see 'berth network ls')"), "\(result)")
        }
    }

    @Test("an endpoint id longer than its nftables tag can carry is refused before anything is made, naming the limit")
    func longID() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.9.0.0/24"]).succeeded)
            let ns = try #require(try sandbox.makeNamespace().name)
            // Names only: a portless bridge's carrier flags change on their own (UNKNOWN, then
            // NO-CARRIER) while the test runs.
            let links = { sandbox.run(["ip", "-o", "link"]).stdout.split(separator: "\n").map { $0.split(separator: " ").dropFirst().first ?? "" } }
            let before = links()
            let result = sandbox.berth(["attach", "web", "--netns", ns, "--id", String(repeating: "a", count: 103), "-p", "8080:80"])
            #expect(result.status == 1 && result.stderr.contains("is 103 bytes, over the limit of 102"), "\(result)")
            #expect(before.count == 2)
            #expect(links() == before)
        }
    }
}

enum CLIOracle {
    /// The names of the sandbox's bridges.
    static func bridgeNames(_ sandbox: HostSandbox) -> [String] {
        sandbox.run(["ip", "-o", "link", "show", "type", "bridge"]).stdout.split(separator: "\n").compactMap {
            $0.split(separator: ":", maxSplits: 2).dropFirst().first?.trimmingCharacters(in: .whitespaces)
        }
    }
}
