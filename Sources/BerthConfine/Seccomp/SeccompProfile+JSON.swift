public import BerthCore

extension SeccompProfile {
    /// The profile as JSON, every rule spelled out (see `Confinement.json`, which writes
    /// Docker's default profile by name instead). `init(json:)` reads it back equal.
    ///
    /// An action is `"allow"`, `"killProcess"` or an errno number; a condition is
    /// `{"index":0,"test":"equal32","value":39}` (`maskedEqual` adds `"mask"`); 64-bit values
    /// are written as the signed integer with the same bits.
    public var json: JSONValue {
        ["defaultAction": Self.json(defaultAction), "rules": .array(rules.map(Self.json))]
    }

    /// Reads what `json` wrote; anything else is an error (parameter "seccomp").
    public init(json: JSONValue) throws(BerthError) {
        let fields = try JSONMembers(json, what: "seccomp profile", parameter: "seccomp", known: ["defaultAction", "rules"])
        guard let rules = try fields.value("rules").arrayValue else { throw fields.malformed("rules") }
        var parsed: [SeccompRule] = []
        for rule in rules { parsed.append(try Self.rule(rule)) }
        self.init(defaultAction: try Self.action(try fields.value("defaultAction"), fields, "defaultAction"), rules: parsed)
    }

    // MARK: - Actions

    private static func json(_ action: SeccompAction) -> JSONValue {
        switch action {
        case .allow: "allow"
        case .killProcess: "killProcess"
        case .errno(let code): .integer(Int64(code))
        }
    }

    private static func action(_ value: JSONValue, _ fields: JSONMembers, _ key: String) throws(BerthError) -> SeccompAction {
        switch value {
        case "allow": return .allow
        case "killProcess": return .killProcess
        default:
            // The kernel keeps the low 16 bits of SECCOMP_RET_ERRNO's data; errnos are below 4096.
            guard let code = value.int64Value, (0..<4096).contains(code) else { throw fields.malformed(key) }
            return .errno(Int32(code))
        }
    }

    // MARK: - Rules

    private static func json(_ rule: SeccompRule) -> JSONValue {
        [
            "names": .array(rule.names.map(JSONValue.string)),
            "action": json(rule.action),
            "conditions": .array(rule.conditions.map(json)),
            "architectures": rule.architectures.map { .array($0.map(\.rawValue).sorted().map(JSONValue.string)) } ?? .null,
            "requires": .bits(rule.requires.rawValue),
            "excludedBy": .bits(rule.excludedBy.rawValue),
        ]
    }

    private static func rule(_ json: JSONValue) throws(BerthError) -> SeccompRule {
        let fields = try JSONMembers(json, what: "seccomp rule", parameter: "seccomp",
                                     known: ["names", "action", "conditions", "architectures", "requires", "excludedBy"])
        guard let conditions = try fields.value("conditions").arrayValue else { throw fields.malformed("conditions") }
        var parsed: [SeccompCondition] = []
        for condition in conditions { parsed.append(try Self.condition(condition)) }
        var architectures: Set<SeccompArchitecture>?
        if fields.optional("architectures") != nil {
            var set: Set<SeccompArchitecture> = []
            for name in try fields.strings("architectures") {
                guard let architecture = SeccompArchitecture(rawValue: name) else { throw fields.malformed("architectures") }
                set.insert(architecture)
            }
            architectures = set
        }
        return SeccompRule(try fields.strings("names"), try action(try fields.value("action"), fields, "action"), conditions: parsed,
                           architectures: architectures, requires: CapabilitySet(rawValue: try fields.bits("requires")),
                           excludedBy: CapabilitySet(rawValue: try fields.bits("excludedBy")))
    }

    // MARK: - Conditions

    private static func json(_ condition: SeccompCondition) -> JSONValue {
        let (test, value, mask): (String, UInt64, UInt64?) = switch condition.test {
        case .equal(let value): ("equal", value, nil)
        case .maskedEqual(let mask, let value): ("maskedEqual", value, mask)
        case .below32(let value): ("below32", UInt64(value), nil)
        case .equal32(let value): ("equal32", UInt64(value), nil)
        case .above32(let value): ("above32", UInt64(value), nil)
        }
        var members: [(String, JSONValue)] = [("index", .integer(Int64(condition.index))), ("test", .string(test)), ("value", .bits(value))]
        if let mask { members.append(("mask", .bits(mask))) }
        return .object(members)
    }

    private static func condition(_ json: JSONValue) throws(BerthError) -> SeccompCondition {
        let fields = try JSONMembers(json, what: "seccomp condition", parameter: "seccomp", known: ["index", "test", "value", "mask"])
        // The compiler refuses other indexes too; checked here so a bad one names this member.
        guard let index = try fields.value("index").intValue, (0..<6).contains(index) else { throw fields.malformed("index") }
        let value = try fields.bits("value")
        func value32() throws(BerthError) -> UInt32 {
            guard let small = UInt32(exactly: value) else { throw fields.malformed("value") }
            return small
        }
        let test: SeccompCondition.Test
        switch try fields.value("test").stringValue {
        case "equal": test = .equal(value)
        case "maskedEqual": test = .maskedEqual(mask: try fields.bits("mask"), value: value)
        case "below32": test = .below32(try value32())
        case "equal32": test = .equal32(try value32())
        case "above32": test = .above32(try value32())
        default: throw fields.malformed("test")
        }
        if case .maskedEqual = test {} else if fields.optional("mask") != nil { throw fields.malformed("mask") }
        return SeccompCondition(index, test)
    }
}
