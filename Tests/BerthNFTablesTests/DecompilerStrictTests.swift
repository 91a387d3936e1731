import BerthCore
import BerthNamespace
@testable import BerthNetlink
@testable import BerthNFTables
import BerthTestSupport
import Testing

/// The decompiler reads back only the forms Berth compiles: a hand-edited rule of another
/// form (a name compared with <, a mask that is not a prefix, a dnat from other registers or
/// with other flags, a set with flags Berth never sets) must not read as Berth's, or `check`
/// would pass a table that does not do what Berth's does.
@Suite("decompiler: only Berth's forms")
struct DecompilerStrictTests {
    private func decompiled(_ statements: [Statement], family: Family = .ip, edit: (inout [Expr]) -> Void) -> [Statement] {
        var exprs = Compiler.compile(Rule(family: family, table: "t", chain: "c", statements))
        edit(&exprs)
        return Decompiler.statements(exprs, family: family)
    }

    @Test("iifname compared with an operator other than == and != is not an iifname match")
    func interfaceNameOperator() throws {
        let statements: [Statement] = [.iifname("lo", negated: true), .drop]
        #expect(decompiled(statements) { _ in } == statements)
        for op: UInt32 in [2, 3, 4, 5] {  // NFT_CMP_LT, LTE, GT, GTE
            let read = decompiled(statements) { exprs in
                guard case .cmp(_, let sreg, let data) = exprs[1] else { return }
                exprs[1] = .cmp(op: op, sreg: sreg, data: data)
            }
            #expect(read != statements && !read.contains(.iifname("lo", negated: true)) && !read.contains(.iifname("lo")), "op \(op): \(read)")
        }
    }

    @Test("a prefix match needs a contiguous mask and no xor")
    func prefixMask() throws {
        let subnet = try CIDR(parsing: "10.88.0.0/20")  // not on a byte: a mask, not a shorter load
        let statements: [Statement] = [.daddr(subnet), .drop]
        #expect(decompiled(statements) { _ in } == statements)
        let xored = decompiled(statements) { exprs in
            guard case .bitwise(let sreg, let dreg, let mask, _) = exprs[1] else { return }
            exprs[1] = .bitwise(sreg: sreg, dreg: dreg, mask: mask, xor: [0, 0, 0, 1])
        }
        #expect(!xored.contains(.daddr(subnet)), "\(xored)")
        let holed = decompiled(statements) { exprs in
            guard case .bitwise(let sreg, let dreg, _, let xor) = exprs[1] else { return }
            exprs[1] = .bitwise(sreg: sreg, dreg: dreg, mask: [0xff, 0x00, 0xff, 0x00], xor: xor)
        }
        #expect(!holed.contains { if case .daddr = $0 { true } else { false } }, "\(holed)")
        #expect(Decompiler.isPrefixMask([0xff, 0xff, 0xc0, 0x00]) && Decompiler.isPrefixMask([0, 0, 0, 0]))
        #expect(!Decompiler.isPrefixMask([0xff, 0xa0, 0, 0]) && !Decompiler.isPrefixMask([0xff, 0x80, 0x01, 0]))
    }

    @Test("a dnat through a map reads as Berth's only with the port register after the address and Berth's range flags")
    func dnatMapRegistersAndFlags() throws {
        for (version, family, field) in [(IPVersion.ip, Family.ip, MapKeyField.ipDaddr), (.ip6, .ip6, .ip6Daddr)] {
            let statements: [Statement] = [.dnatMap(version, key: [field, .l4proto, .thDport], map: "publish_addr")]
            #expect(decompiled(statements, family: family) { _ in } == statements)
            let index = 4
            let otherRegister = decompiled(statements, family: family) { exprs in
                guard case .nat(let type, let fam, let addr, let proto?, let flags) = exprs[index] else { return }
                exprs[index] = .nat(type: type, family: fam, addr: addr, proto: proto + 1, flags: flags)
            }
            #expect(otherRegister != statements, "\(otherRegister)")
            let otherFlags = decompiled(statements, family: family) { exprs in
                guard case .nat(let type, let fam, let addr, let proto, let flags) = exprs[index] else { return }
                exprs[index] = .nat(type: type, family: fam, addr: addr, proto: proto, flags: flags | 0x4)  // NF_NAT_RANGE_PROTO_RANDOM
            }
            #expect(otherFlags != statements, "\(otherFlags)")
        }
    }

    @Test("a set read back keeps flags Berth never sets, so it differs from Berth's")
    func setFlagsKept() throws {
        let table = Table(.ip, "berth")
        let plain = table.map("publish_any", type: [.inetProto, .inetService], data: [.ipv4Address, .inetService])
        var timed = plain
        timed.flags = SetFlags(rawValue: 0x10)  // NFT_SET_TIMEOUT
        let bytes = try NFTNL.setMessage(timed, type: NFTNL.MessageType.newSet, flags: 0, sequence: 1)
        let message = try #require(bytes.withUnsafeBytes { NetlinkMessage.split($0) }.first)
        let read = try #require(NFTNL.parseSet(message))
        #expect(read.flags == timed.flags && read.flags != plain.flags)
        #expect(read.flags.rendered == "0x10")
    }
}

/// What libnftnl reads back from the kernel: a masquerade with flags or a port range is not
/// Berth's plain `masquerade` (its expression is built by nft here, which Berth's compiler
/// never makes).
@Suite("decompiler: masquerade flags (kernel)", .enabled(if: try KernelTests.enabled))
struct DecompilerMasqueradeKernelTests {
    @Test("masquerade random and masquerade to :1024-2048 do not read as masquerade; a plain one does")
    func masqueradeFlags() throws {
        try withHostSandbox { sandbox in
            for argv in [["nft", "add", "table", "ip", "t"],
                         ["nft", "add", "chain", "ip", "t", "c", "{ type nat hook postrouting priority srcnat; }"],
                         ["nft", "add", "rule", "ip", "t", "c", "meta", "l4proto", "tcp", "masquerade", "random"],
                         ["nft", "add", "rule", "ip", "t", "c", "meta", "l4proto", "tcp", "masquerade", "to", ":1024-2048"],
                         ["nft", "add", "rule", "ip", "t", "c", "masquerade"]] {
                let result = sandbox.run(argv)
                try #require(result.succeeded, "\(argv): \(result)")
            }
            let backend = try KernelBackend(namespace: sandbox.namespace)
            let rules = try #require(try backend.list(table: Table(.ip, "t"))?.chains.first?.rules)
            try #require(rules.count == 3)
            #expect(!rules[0].statements.contains(.masquerade), "\(rules[0].statements)")
            #expect(!rules[1].statements.contains(.masquerade), "\(rules[1].statements)")
            #expect(rules[2].statements == [.masquerade])
        }
    }
}
