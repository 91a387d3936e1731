@testable import berth
import BerthCore
import BerthNetwork
import Testing

/// `berth network create --ip-range RANGE --aux-address NAME=IP`: what the CLI parses
/// before the library checks them against the subnet.
@Suite("berth network create --ip-range, --aux-address")
struct NetworkRangeCLITests {
    @Test("--aux-address values by name; --ip-range one per family")
    func parses() throws {
        let addresses = try NetworkCommand.Create.auxiliaryAddresses(["router=10.0.0.1", "v6=fd00::9", "x.y-z=10.0.0.2"])
        #expect(addresses == ["router": IPAddress("10.0.0.1")!, "v6": IPAddress("fd00::9")!, "x.y-z": IPAddress("10.0.0.2")!])
        let ranges = try NetworkCommand.Create.byFamily(["10.0.0.128/25", "fd00::100-fd00::1ff"], flag: "--ip-range") { text throws(BerthError) in
            try AddressRange(parsing: text).family
        }
        #expect(ranges.v4 == "10.0.0.128/25" && ranges.v6 == "fd00::100-fd00::1ff")
        let twice = #expect(throws: BerthError.self) {
            try NetworkCommand.Create.byFamily(["10.0.0.0/25", "10.0.0.128/25"], flag: "--ip-range") { text throws(BerthError) in try AddressRange(parsing: text).family }
        }
        #expect(twice?.message == "--ip-range is given twice for IPv4")
    }

    @Test("--aux-address refuses what is not NAME=IP, a bad name, a bad address, a name twice", arguments: [
        (["router"], "invalid --aux-address \"router\": no '='"),
        (["=10.0.0.1"], "invalid auxiliary address name \"\""),
        (["-r=10.0.0.1"], "invalid auxiliary address name \"-r\""),
        (["r=10.0.0"], "invalid --aux-address \"r=10.0.0\": \"10.0.0\" is not an IP address"),
        (["r=10.0.0.1", "r=10.0.0.2"], "--aux-address names \"r\" twice"),
    ])
    func refuses(values: [String], message: String) {
        let error = #expect(throws: BerthError.self) { try NetworkCommand.Create.auxiliaryAddresses(values) }
        #expect(error?.code == .invalidArgument && error?.message == message && error?.hint != nil, "\(String(describing: error))")
    }
}

/// The CLI's advice for the library's range refusals names berth's flags.
@Suite("CLIHints: --ip-range, --aux-address")
struct NetworkRangeHintTests {
    @Test("a range or auxiliary address without its subnet: add --subnet of that family, or leave the flag out; an auxiliary --ip: choose another --ip")
    func hints() throws {
        let range = BerthError(.invalidArgument, "address range 10.0.0.0/25 is given without an IPv4 subnet", object: .network("web"),
                               parameter: "ipRange", remedy: .give(parameter: "subnet"))
        #expect(CLIHints.message(for: range, netns: nil)
            == "address range 10.0.0.0/25 is given without an IPv4 subnet (add --subnet with the IPv4 subnet it is in, or leave out --ip-range)")
        let aux = BerthError(.invalidArgument, "auxiliary address r=fd00::5 is given without an IPv6 subnet", object: .network("web"),
                             parameter: "auxiliaryAddress", remedy: .give(parameter: "ipv6Subnet"))
        #expect(CLIHints.message(for: aux, netns: nil)
            == "auxiliary address r=fd00::5 is given without an IPv6 subnet (add --subnet with the IPv6 subnet it is in, or leave out --aux-address)")
        let taken = BerthError(.conflict, "address 10.0.0.9 is auxiliary address router of network \"web\", which no endpoint may have",
                               object: .network("web"), parameter: "address", remedy: .chooseAnother(parameter: "address"))
        #expect(CLIHints.message(for: taken, netns: nil).hasSuffix("(choose another --ip)"))
    }
}
