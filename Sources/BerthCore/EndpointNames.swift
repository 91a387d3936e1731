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

    /// The lower-cased domain under which a network's names are also answered (`NAME.NETWORK`),
    /// when the network's name is a single DNS label; nil otherwise (`DNSNetworkZone.domain`).
    public static func domain(ofNetwork network: String) -> String? {
        guard !network.contains("."), isValid(network) else { return nil }
        return network.lowercased()
    }

    /// Whether `name` passes `validate`.
    public static func isValid(_ name: String) -> Bool {
        (try? validate(name)) != nil
    }
}
