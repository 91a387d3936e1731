import BerthCore
@testable import BerthNFTables
import Testing

/// libnftnl writes a rule's message without checking the buffer's end: a rule the kernel
/// would not take is refused before any message is built, and every message's buffer holds
/// what goes into it.
@Suite("rule size")
struct RuleSizeTests {
    static let prefix = CIDR("2001:db8::/33")!

    /// The length the message's header says (nlmsg_len, host order).
    static func headerLength(_ bytes: [UInt8]) -> Int {
        Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
    }

    @Test("a rule of more expressions than the kernel takes is refused by the transaction, naming the limit")
    func overLimitRefused() throws {
        // 400 non-byte-aligned IPv6 prefixes: payload, bitwise and cmp each, 1200 expressions.
        let rule = Rule(family: .ip6, table: "t", chain: "c", Array(repeating: .saddr(Self.prefix), count: 400))
        var transaction = Transaction()
        transaction.add(.rule(rule))
        let error = transaction.validationError
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("chain ip6 t c") == true, "\(String(describing: error))")
        #expect(error?.message.contains("1200 nftables expressions") == true, "\(String(describing: error))")
        #expect(error?.message.contains("at most 128") == true, "\(String(describing: error))")
    }

    @Test("a rule at the limit is accepted and builds a message exactly as long as its header says")
    func atLimitBuilds() throws {
        // 42 prefixes (126 expressions) and a verdict: 127.
        let rule = Rule(family: .ip6, table: "t", chain: "c", Array(repeating: .saddr(Self.prefix), count: 42) + [.accept])
        #expect(Compiler.compile(rule).count == 127)
        var transaction = Transaction()
        transaction.add(.rule(rule))
        #expect(transaction.validationError == nil, "\(String(describing: transaction.validationError))")
        let bytes = try NFTNL.ruleMessage(rule, type: NFTNL.MessageType.newRule, flags: 0, sequence: 1)
        #expect(Self.headerLength(bytes) == bytes.count)
        #expect(bytes.count > 42 * 3 * 40)
        #expect(bytes.count <= NFTNL.ruleMessageSize(rule, exprs: Compiler.compile(rule)))
    }

    @Test("the largest valid rule (128 jumps to 255-byte chain names) fits its buffer")
    func largestRuleFits() throws {
        let name = String(repeating: "j", count: 255)
        let rule = Rule(family: .inet, table: String(repeating: "t", count: 255), chain: String(repeating: "c", count: 255),
                        Array(repeating: .jump(name), count: 128), comment: String(repeating: "x", count: 127), handle: 7, position: 3)
        // Replaced (the handle names the rule), so every attribute a rule message has goes.
        var transaction = Transaction()
        transaction.replace(rule)
        #expect(transaction.validationError == nil, "\(String(describing: transaction.validationError))")
        let bytes = try NFTNL.ruleMessage(rule, type: NFTNL.MessageType.newRule, flags: 0, sequence: 1)
        // Longer than the 32 KiB the message once had, and within its bound.
        #expect(bytes.count > 32768)
        #expect(Self.headerLength(bytes) == bytes.count)
        #expect(bytes.count <= NFTNL.ruleMessageSize(rule, exprs: Compiler.compile(rule)))
    }

    @Test("every statement's expressions stay within their bound")
    func boundPerStatement() throws {
        let statements: [Statement] = [
            .l4proto(6), .thDport(80), .saddr(CIDR("10.1.2.0/23")!), .daddr(Self.prefix), .iifname("eth0", negated: true),
            .oifname("veth1", negated: false), .fibDaddrTypeLocal, .ctState([.established, .related]), .ctStatusDnat,
            .counter(packets: 1, bytes: 2), .dnat(to: IPAddress("2001:db8::1")!, port: 8080),
            .dnatMap(.ip6, key: [.ip6Daddr, .l4proto, .thDport], map: "publish6"), .masquerade, .accept, .drop, .return, .goto("other"),
        ]
        for statement in statements {
            let rule = Rule(family: .inet, table: "berth", chain: "c", [.l4proto(6), statement])
            let exprs = Compiler.compile(rule)
            let bytes = try NFTNL.ruleMessage(rule, type: NFTNL.MessageType.newRule, flags: 0, sequence: 1)
            #expect(Self.headerLength(bytes) == bytes.count, "\(statement)")
            #expect(bytes.count <= NFTNL.ruleMessageSize(rule, exprs: exprs), "\(statement)")
        }
    }
}
