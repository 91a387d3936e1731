import ArgumentParser
@testable import berth
import Testing

/// `HotPath` parses `berth attach` and `berth detach` without argument-parser. For every
/// spelling it accepts it must read what argument-parser reads; everything else it must hand
/// to argument-parser (return nil), never misread.
@Suite("HotPath parity with argument-parser")
struct HotPathParityTests {
    /// The full CLI's reading of an attach (JoinedValues, then argument-parser), in HotPath's
    /// terms; nil if it refuses it.
    private func parser(attach arguments: [String]) -> HotPath.Attach? {
        guard let command = try? AttachCommand.parse(Array(JoinedValues.split(["attach"] + arguments).dropFirst())) else { return nil }
        return HotPath.Attach(network: command.network, netns: command.netns, id: command.id, ip: command.ip, ip6: command.ip6, mac: command.mac,
                              ifname: command.ifname, publish: command.publish, stateDir: command.state.stateDir,
                              name: command.name, aliases: command.alias)
    }

    private func parser(detach arguments: [String]) -> HotPath.Detach? {
        guard let command = try? DetachCommand.parse(arguments) else { return nil }
        return HotPath.Detach(ids: command.ids, stateDir: command.state.stateDir)
    }

    /// An option as words: `--name value` or `--name=value`.
    private func spell(_ name: String, _ value: String, joined: Bool) -> [String] {
        joined ? ["\(name)=\(value)"] : [name, value]
    }

    /// Every mix of `--x v` and `--x=v` over all single options, `-p`/`-pSPEC`/`--publish`/`--publish=`
    /// for the repeated one, and the network at every position between options.
    private func attachSpellings(values: [String: String], publish: [String]) -> [[String]] {
        let singles = values.keys.sorted()
        // ("-p", true) is the joined `-pSPEC`.
        let publishSpellings: [(String, Bool)] = [("-p", false), ("-p", true), ("--publish", false), ("--publish", true)]
        var result: [[String]] = []
        for mask in 0..<(1 << singles.count) {
            for publishStyle in 0..<(publish.isEmpty ? 1 : publishSpellings.count) {
                var options: [[String]] = singles.enumerated().map { index, name in
                    spell(name, values[name] ?? "", joined: mask & (1 << index) != 0)
                }
                for (offset, spec) in publish.enumerated() {
                    // The two -p's take different spellings, so a mix is covered too.
                    let (name, joined) = publishSpellings[(publishStyle + offset) % publishSpellings.count]
                    options.append(joined ? [name == "-p" ? "-p\(spec)" : "\(name)=\(spec)"] : [name, spec])
                }
                for position in 0...options.count {
                    var words = options
                    words.insert(["web"], at: position)
                    result.append(words.flatMap { $0 })
                }
            }
        }
        return result
    }

    @Test("attach: every spelling HotPath accepts reads as argument-parser reads it")
    func attachParity() {
        let full = ["--netns": "/run/netns/ctr1", "--id": "ep1", "--ip": "10.88.0.9", "--ip6": "fd00:9::9", "--mac": "02:42:0a:58:00:09",
                    "--ifname": "eth1", "--state-dir": "/tmp/berth state"]
        let cases = attachSpellings(values: full, publish: ["8080:80", "127.0.0.1:53:53/udp"])
            + attachSpellings(values: ["--netns": "ctr1"], publish: [])
            + attachSpellings(values: ["--netns": "ctr1", "--ifname": "net0"], publish: ["9000-9001:9000-9001"])
            + attachSpellings(values: ["--netns": "ctr1", "--name": "web1"], publish: [])
            // --alias repeats, in both spellings.
            + [["web", "--netns", "ctr1", "--name", "web1", "--alias", "www", "--alias=front"],
               ["web", "--alias", "a", "--netns=ctr1", "--alias", "b"]]
            // Values with '=' or spaces, empty values, a negative-looking value after '='.
            + [["web", "--netns=/run/netns/a=b", "--id", "x y"], ["web", "--netns", "", "--id", ""], ["web", "--netns", "ns", "--ip=-1"]]
            // Joined -p values as docker users write them, one that looks like an option among them.
            + [["web", "--netns", "ns", "-p8080:80"], ["-p127.0.0.1:53:53/udp", "web", "--netns", "ns", "-p", "80"], ["web", "--netns", "ns", "-p-1"]]
            // pflag's -p=SPEC, as docker reads it (the value after '=').
            + [["web", "--netns", "ns", "-p=8080:80"], ["-p=[::1]:53:53/udp", "web", "--netns=ns", "-p", "80"]]
            // A joined long-form spec, whose value holds '=' (docker's -p takes it so).
            + [["web", "--netns", "ns", "-ppublished=8080,target=80"], ["-ppublished=53,target=53,protocol=udp", "web", "--netns=ns", "-p=80"]]
        #expect(cases.count > 1000)
        var accepted = 0
        for arguments in cases {
            let hot = HotPath.attach(arguments[...])
            guard let hot else { continue }
            accepted += 1
            #expect(parser(attach: arguments) == hot, "\(arguments)")
        }
        // All are well-formed spellings HotPath is there to take.
        #expect(accepted == cases.count)
    }

    @Test("detach: ids anywhere, --state-dir spelled either way")
    func detachParity() {
        var cases: [[String]] = [["a"], ["a", "b", "c"]]
        for ids in [["a"], ["a", "b"], ["e1", "e2", "e3"]] {
            for joined in [false, true] {
                for position in 0...ids.count {
                    var words = ids.map { [$0] }
                    words.insert(spell("--state-dir", "/var/lib/other", joined: joined), at: position)
                    cases.append(words.flatMap { $0 })
                }
            }
        }
        for arguments in cases {
            let hot = HotPath.detach(arguments[...])
            #expect(hot != nil, "\(arguments)")
            #expect(parser(detach: arguments) == hot, "\(arguments)")
        }
    }

    @Test("what HotPath does not accept goes to argument-parser", arguments: [
        ["web", "--netns", "ns", "--help"], ["-h"], ["web", "--netns", "ns", "-h"],
        ["web"], ["web", "other", "--netns", "ns"], ["--netns", "ns"],
        ["web", "--netns"], ["web", "--netns", "ns", "-p"], ["web", "--netns", "ns", "--id"],
        ["web", "--netns", "--id", "x"], ["web", "--netns", "-x"],
        ["web", "--netns", "ns", "--", "x"], ["web", "--netns", "ns", "--unknown", "x"], ["web", "--netns", "ns", "-x"],
        ["web", "--netns", "ns", "--id", "a", "--id", "b"], ["web", "--netns", "a", "--netns=b"],
        ["web", "--netns", "ns", "-p="], ["web", "--netns", "ns", "--publish"], ["web", "--netns", "ns", "-x80"], ["web", "--netns", "ns", "-P80"],
        ["web", "--netns", "ns", "--NETNS", "x"], ["web", "--net", "ns"], ["web", "--netns", "ns", "--ifname"],
        // argument-parser refuses an empty value after '='.
        ["web", "--netns="], ["web", "--netns", "ns", "--id="], ["web", "--netns", "ns", "-p", "80", "--publish="],
    ])
    func attachRejections(arguments: [String]) {
        #expect(HotPath.attach(arguments[...]) == nil)
    }

    @Test("detach: what HotPath does not accept goes to argument-parser", arguments: [
        [], ["--help"], ["-h"], ["a", "--state-dir"], ["a", "--state-dir", "x", "--state-dir", "y"], ["--", "a"], ["a", "-x"],
        ["a", "--state-dir", "-x"], ["--state-dir=x"],
    ])
    func detachRejections(arguments: [String]) {
        #expect(HotPath.detach(arguments[...]) == nil)
    }

    @Test("the supervisor's entry is taken only exactly; any argument goes to argument-parser")
    func superviseEntry() throws {
        #expect(try HotPath.run([RunCommand.superviseCommand, "x"]) == false)
        #expect(try HotPath.run(["attach", "--help"]) == false)
        #expect(try HotPath.run([]) == false)
    }
}
