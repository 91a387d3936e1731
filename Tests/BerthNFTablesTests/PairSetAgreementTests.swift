import BerthCore
import BerthTestSupport
@testable import BerthNFTables
import Testing

/// Sets keyed by an address pair, looked up by `saddr . daddr` — the shape of Berth's
/// `publication_hairpin` in both families — through the fake and the kernel: the same
/// listings, the same answers to reads by key, and what nft itself prints.
@Suite("nftables backends agree on address-pair sets (kernel)", .enabled(if: try KernelTests.enabled))
struct PairSetAgreementTests {
    /// A table of `family` with one pair set, its lookup rule in a nat postrouting chain,
    /// and two elements (one with a comment).
    static func objects(_ family: Family, _ name: String) -> (Table, NFTSet, Rule, [Element]) {
        let table = Table(family, name)
        let v4 = family == .ip
        let set = table.set("pairs", type: v4 ? [.ipv4Address, .ipv4Address] : [.ipv6Address, .ipv6Address])
        let rule = table.rule(in: "postrouting", [.ctStatusDnat, .lookup(key: v4 ? [.ipSaddr, .ipDaddr] : [.ip6Saddr, .ip6Daddr], set: set.name), .masquerade],
                              comment: "pair")
        func address(_ text: String) -> Value {
            v4 ? .ipv4(IPv4Address(text)!) : .ipv6(IPv6Address(text)!)
        }
        let (a, b) = v4 ? ("10.0.0.2", "10.0.0.3") : ("fd00::2", "fd00::3")
        let elements = [Element([address(a), address(a)], comment: "e1"), Element([address(b), address(b)])]
        return (table, set, rule, elements)
    }

    /// Makes the table, then adds an element again (fine), creates it (refused), deletes the
    /// other; the scoped listing and the elements read by key after each step.
    static func run(_ backend: any NFTablesBackend, _ family: Family, _ name: String) throws -> [String] {
        let (table, set, rule, elements) = objects(family, name)
        var out: [String] = []
        func step(_ tx: Transaction) throws {
            do {
                try backend.apply(tx)
                out.append("ok")
            } catch {
                out.append("\(error.code): \(error.message)")
            }
            out.append(try backend.list(table: table).map(Renderer.table) ?? "")
            let found = try backend.elements(withKeysOf: elements.map { (Element($0.key), set) }).found
            out.append(found.map(\.0.rendered).joined(separator: ", "))
        }
        var make = Transaction()
        make.add(.table(table))
        make.add(.set(set))
        make.add(.chain(table.chain("postrouting", BaseChain(type: .nat, hook: .postrouting, priority: .srcnat))))
        make.add(.rule(rule))
        make.add(elements, to: set)
        try step(make)
        var again = Transaction()
        again.add(.element(elements[0], in: set))
        try step(again)
        var create = Transaction()
        create.create(.element(elements[1], in: set))
        try step(create)
        var delete = Transaction()
        delete.delete(.element(elements[1], in: set))
        try step(delete)
        return out
    }

    @Test("IPv4 and IPv6 pair sets: same listings, reads and refusals from fake and kernel, and nft prints the listing",
          arguments: [Family.ip, .ip6])
    func agree(family: Family) throws {
        try withHostSandbox { sandbox in
            let name = "berth-pairs"
            let fake = try Self.run(FakeBackend(), family, name)
            let kernel = try Self.run(KernelBackend(namespace: sandbox.namespace), family, name)
            #expect(fake == kernel)
            let v4 = family == .ip
            let (a, b) = v4 ? ("10.0.0.2", "10.0.0.3") : ("fd00::2", "fd00::3")
            let type = v4 ? "ipv4_addr . ipv4_addr" : "ipv6_addr . ipv6_addr"
            let lookup = v4 ? "ip saddr . ip daddr" : "ip6 saddr . ip6 daddr"
            // nft's own reading of what the kernel holds after the last step.
            let printed = sandbox.nftTable(v4 ? "ip" : "ip6", name)
            #expect(printed == """
                table \(v4 ? "ip" : "ip6") \(name) {
                \tset pairs {
                \t\ttype \(type)
                \t\telements = { \(a) . \(a) comment "e1" }
                \t}

                \tchain postrouting {
                \t\ttype nat hook postrouting priority srcnat; policy accept;
                \t\tct status dnat \(lookup) @pairs masquerade comment "pair"
                \t}
                }

                """)
            #expect(fake.count == 12)
            #expect(fake[2] == "\(a) . \(a) comment \"e1\", \(b) . \(b)", "\(fake[2])")
            #expect(fake[6].hasPrefix("alreadyExists: create element to set \(v4 ? "ip" : "ip6") \(name) pairs"), "\(fake[6])")
            #expect(fake[11] == "\(a) . \(a) comment \"e1\"", "\(fake[11])")
        }
    }
}
