public import BerthCore

/// A server the resolver forwards to.
public struct DNSUpstream: Sendable, Hashable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    /// An IPv4-mapped IPv6 address (`::ffff:192.0.2.53`) is held as the IPv4 address it
    /// reaches, so the server's check that an upstream is not one of its own listen
    /// addresses (a query loop) sees through the spelling.
    public init(address: IPAddress, port: UInt16 = 53) {
        if case .v6(let v6) = address, v6.isIPv4Mapped, let v4 = IPAddress(bytes: v6.bytes[12...]) {
            self.address = v4
        } else {
            self.address = address
        }
        self.port = port
    }

    /// Parses `ADDRESS`, `ADDRESS:PORT` (IPv4) or `[ADDRESS]:PORT` (IPv6); the port is 53
    /// when left out.
    public init(parsing text: String) throws(BerthError) {
        let hint = "write an address such as 192.0.2.53, 192.0.2.53:5353 or [fd00::53]:53"
        var addressText = text
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .invalid("invalid DNS server \"\(text)\": no closing ']'", hint: hint) }
            addressText = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":" else { throw .invalid("invalid DNS server \"\(text)\"", hint: hint) }
                portText = rest.dropFirst()
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            addressText = String(text[..<colon])
            portText = text[text.index(after: colon)...]
        }
        guard let address = IPAddress(addressText) else {
            throw .invalid("invalid DNS server \"\(text)\": \"\(addressText)\" is not an IP address", hint: hint)
        }
        var port: UInt16 = 53
        if let portText {
            guard let value = UInt16(portText), value > 0 else {
                throw .invalid("invalid DNS server \"\(text)\": port \"\(portText)\" is not a number from 1 to 65535", hint: hint)
            }
            port = value
        }
        guard !address.isUnspecified else { throw .invalid("invalid DNS server \"\(text)\": the unspecified address", hint: hint) }
        self.init(address: address, port: port)
    }

    public var description: String {
        switch address {
        case .v4: port == 53 ? "\(address)" : "\(address):\(port)"
        case .v6: port == 53 ? "\(address)" : "[\(address)]:\(port)"
        }
    }
}
