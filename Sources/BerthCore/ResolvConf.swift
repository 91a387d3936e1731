/// The parts of resolv.conf(5) Berth uses: the host's nameservers (the resolver's upstreams),
/// and the search domains and options that a container's resolv.conf carries over (berth
/// run, berth-cni's DNS result). A value parsed from text the caller read: BerthDNS reads
/// the host's file (`ResolvConf.read`).
public struct ResolvConf: Sendable, Hashable {
    /// Nameserver addresses in file order. Link-local IPv6 servers with a zone
    /// (`fe80::1%eth0`) are left out: a zone means nothing to a socket in another scope.
    public var nameservers: [IPAddress]
    /// The search list (`search`, or `domain` as a one-entry list; the last line wins, as in glibc).
    public var searchDomains: [String]
    /// `options` words, such as `ndots:2` or `edns0`.
    public var options: [String]

    /// The host's resolver configuration file.
    public static let hostPath = "/etc/resolv.conf"
    /// The largest resolv.conf accepted.
    public static let maxFileSize = 64 * 1024

    /// A configuration with the given nameservers, search domains and options.
    public init(nameservers: [IPAddress] = [], searchDomains: [String] = [], options: [String] = []) {
        self.nameservers = nameservers
        self.searchDomains = searchDomains
        self.options = options
    }

    /// Parses resolv.conf text. Unknown keywords and malformed lines are skipped, as glibc
    /// skips them.
    public init(parsing text: String) {
        self.init()
        for line in text.split(whereSeparator: { $0 == "\n" }) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let keyword = words.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else { continue }
            let values = words.dropFirst().prefix { !$0.hasPrefix("#") && !$0.hasPrefix(";") }.map(String.init)
            switch keyword {
            case "nameserver":
                if let text = values.first, let address = IPAddress(text) { nameservers.append(address) }
            case "search":
                searchDomains = values
            case "domain":
                searchDomains = Array(values.prefix(1))
            case "options":
                options += values
            default:
                continue
            }
        }
    }

    /// A container's resolv.conf that points at `nameservers` (the network's gateway) and
    /// keeps this file's search list and options. As Docker does for its embedded resolver,
    /// `ndots:0` is added unless an `ndots` option is given, so a single-label name such as
    /// `web` is asked as it is first, not after every search domain.
    public func containerText(nameservers: [IPAddress]) -> String {
        var text = "# Written by Berth: the network's resolver; search domains and options from the host.\n"
        for server in nameservers { text += "nameserver \(server)\n" }
        if !searchDomains.isEmpty { text += "search \(searchDomains.joined(separator: " "))\n" }
        var options = self.options
        if !options.contains(where: { $0.hasPrefix("ndots:") }) { options.append("ndots:0") }
        text += "options \(options.joined(separator: " "))\n"
        return text
    }
}
