public import BerthCore

extension StateTransaction {
    /// Refuses names that would make the network's resolver table ambiguous (docs/dns.md):
    /// a name another endpoint of the network holds, a name equal to another endpoint's
    /// alias, an alias equal to another endpoint's name — compared without case, as DNS
    /// does. Aliases shared by several endpoints are fine (they answer all addresses).
    /// Each error names the holder. Reads only the network's endpoints that have names.
    func checkNames(of endpoint: EndpointRecord) throws(BerthError) {
        if let name = endpoint.name { try EndpointNames.validate(name, parameter: "name") }
        for alias in endpoint.aliases { try EndpointNames.validate(alias, parameter: "alias") }
        let name = endpoint.name?.lowercased()
        let aliases = Set(endpoint.aliases.map { $0.lowercased() })
        if let name, aliases.contains(name) {
            throw .invalid("alias \(name) is the endpoint's own name", hint: "leave the alias out", parameter: "alias")
        }
        try db().forEach("SELECT id, name, aliases FROM endpoints WHERE network = ? AND id <> ? AND (name IS NOT NULL OR aliases IS NOT NULL)",
                         [.text(endpoint.network), .text(endpoint.id)]) { row throws(BerthError) in
            let holder = row.text(0)
            let holderName = row.optionalText(1)?.lowercased()
            let holderAliases = Set((row.optionalText(2).map(Self.splitList) ?? []).map { $0.lowercased() })
            if let name, name == holderName {
                throw BerthError(.conflict, "name \(name) on network \"\(endpoint.network)\" is already held by endpoint \(holder)",
                                 hint: "choose another name, or detach that endpoint first",
                                 object: .endpoint(holder), parameter: "name", remedy: .chooseAnother(parameter: "name"))
            }
            if let name, holderAliases.contains(name) {
                throw BerthError(.conflict, "name \(name) on network \"\(endpoint.network)\" is an alias of endpoint \(holder)",
                                 hint: "choose another name", object: .endpoint(holder), parameter: "name", remedy: .chooseAnother(parameter: "name"))
            }
            if let holderName, aliases.contains(holderName) {
                throw BerthError(.conflict, "alias \(holderName) on network \"\(endpoint.network)\" is the name of endpoint \(holder)",
                                 hint: "choose another alias", object: .endpoint(holder), parameter: "alias", remedy: .chooseAnother(parameter: "alias"))
            }
        }
    }
}

/// Endpoint names and aliases: DNS names as containers resolve them.
public enum EndpointNames {
    /// Checks a name or alias: dot-separated labels of 1–63 letters, digits, '-' or '_', not
    /// starting or ending with '-', at most 253 bytes — what the resolver can answer
    /// (`DNSName(hostname:)` accepts the same). Throws `.invalidArgument` naming the fix.
    public static func validate(_ name: String, parameter: String = "name") throws(BerthError) {
        let fix = "use letters, digits, '-' and '_' in dot-separated labels of at most 63, not starting or ending with '-'"
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 253 else {
            throw .invalid("\"\(name)\" is not a valid DNS name", hint: fix, parameter: parameter)
        }
        for label in bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            let ok = (1...63).contains(label.count) && label.first != UInt8(ascii: "-") && label.last != UInt8(ascii: "-")
                && label.allSatisfy { byte in
                    (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                        || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                }
            guard ok else { throw .invalid("\"\(name)\" is not a valid DNS name", hint: fix, parameter: parameter) }
        }
    }

    /// Whether `name` passes `validate`.
    public static func isValid(_ name: String) -> Bool {
        (try? validate(name)) != nil
    }
}
