public import BerthCore

extension ResourceLimits {
    /// The limits as JSON, to carry them to another process (a detached supervisor) or keep
    /// them in state. Every field is a member; no limit is `null`. `init(json:)` reads it back
    /// equal.
    ///
    /// ```json
    /// {"memory":33554432,"memorySwap":"unlimited","nanoCPUs":500000000,"cpuShares":null,
    ///  "cpusetCPUs":"0-1","cpusetMems":null,"pids":20}
    /// ```
    public var json: JSONValue {
        let swap: JSONValue = switch memorySwap {
        case nil: .null
        case .unlimited: .string("unlimited")
        case .total(let bytes): .bits(bytes)
        }
        return [
            "memory": memory.map(JSONValue.bits) ?? .null,
            "memorySwap": swap,
            "nanoCPUs": nanoCPUs.map(JSONValue.bits) ?? .null,
            "cpuShares": cpuShares.map(JSONValue.bits) ?? .null,
            "cpusetCPUs": cpusetCPUs.map { .string($0.description) } ?? .null,
            "cpusetMems": cpusetMems.map { .string($0.description) } ?? .null,
            "pids": pids.map(JSONValue.bits) ?? .null,
        ]
    }

    /// Reads what `json` wrote. A member that is absent means no limit; one of the wrong type,
    /// or one this version does not know, is an error (parameter "limits"). The values are
    /// not validated: `validate()` does that where they are used.
    public init(json: JSONValue) throws(BerthError) {
        let fields = try JSONMembers(json, what: "resource limits", parameter: "limits", known: Self.jsonKeys)
        var limits = ResourceLimits()
        limits.memory = try fields.optionalBits("memory")
        if let swap = fields.optional("memorySwap") {
            if swap.stringValue == "unlimited" {
                limits.memorySwap = .unlimited
            } else {
                limits.memorySwap = .total(try fields.bits("memorySwap"))
            }
        }
        limits.nanoCPUs = try fields.optionalBits("nanoCPUs")
        limits.cpuShares = try fields.optionalBits("cpuShares")
        for (key, path) in [("cpusetCPUs", \ResourceLimits.cpusetCPUs), ("cpusetMems", \ResourceLimits.cpusetMems)] {
            guard let value = fields.optional(key) else { continue }
            guard let text = value.stringValue, let list = try? CPUList(parsing: text, parameter: "limits") else { throw fields.malformed(key) }
            limits[keyPath: path] = list
        }
        limits.pids = try fields.optionalBits("pids")
        self = limits
    }

    private static let jsonKeys: Set<String> = ["memory", "memorySwap", "nanoCPUs", "cpuShares", "cpusetCPUs", "cpusetMems", "pids"]
}
