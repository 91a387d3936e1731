#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
import BerthNamespace
internal import CBerthDNS

/// A table in a small line format, for running the resolver on its own (tests, the
/// benchmark, experiments) until Berth's state is its source:
///
///     # comments and blank lines are ignored
///     network front listen=10.89.0.1 subnet=10.89.0.0/24 [upstream=192.0.2.53,[fd00::53]:5353]
///     endpoint web address=10.89.0.2[,fd00::2] [alias=www,lb]
///
/// Endpoints belong to the `network` line above them. Names must be valid host names
/// (`DNSName(hostname:)`); every error names its line.
public enum DNSTableFile {
    /// The largest file accepted (a table of 100,000 names is about 5 MB).
    public static let maxSize = 16 * 1024 * 1024

    public static func parse(_ text: String) throws(BerthError) -> DNSTable {
        var table = DNSTable()
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let keyword = words.first, !keyword.hasPrefix("#") else { continue }
            do throws(BerthError) {
                switch keyword {
                case "network": table.networks.append(try network(words.dropFirst()))
                case "endpoint":
                    guard !table.networks.isEmpty else { throw BerthError.invalid("an endpoint comes before any network line") }
                    table.networks[table.networks.count - 1].endpoints.append(try endpoint(words.dropFirst()))
                default:
                    throw BerthError.invalid("unknown keyword \"\(keyword)\" (expected network or endpoint)")
                }
            } catch {
                throw BerthError(error.code, "DNS table line \(lineNumber): \(error.message)", hint: error.hint, cause: error.cause)
            }
        }
        try table.validate()
        return table
    }

    /// The text form of `table`, which `parse` reads back.
    public static func render(_ table: DNSTable) -> String {
        var text = ""
        for zone in table.networks {
            text += "network \(zone.name) listen=\(zone.listenAddresses.map(\.description).joined(separator: ","))"
            text += " subnet=\(zone.subnets.map(\.description).joined(separator: ","))"
            if let upstreams = zone.upstreams { text += " upstream=\(upstreams.map(\.description).joined(separator: ","))" }
            text += "\n"
            for endpoint in zone.endpoints {
                text += "endpoint \(endpoint.name.text) address=\(endpoint.addresses.map(\.description).joined(separator: ","))"
                if !endpoint.aliases.isEmpty { text += " alias=\(endpoint.aliases.map(\.text).joined(separator: ","))" }
                text += "\n"
            }
        }
        return text
    }

    private static func settings(_ words: ArraySlice<Substring>, allowed: Set<String>) throws(BerthError) -> [String: [String]] {
        var result: [String: [String]] = [:]
        for word in words {
            guard let equals = word.firstIndex(of: "=") else { throw BerthError.invalid("\"\(word)\" is not KEY=VALUE") }
            let key = String(word[..<equals])
            guard allowed.contains(key) else {
                throw BerthError.invalid("unknown setting \"\(key)\" (expected \(allowed.sorted().joined(separator: ", ")))")
            }
            guard result[key] == nil else { throw BerthError.invalid("\(key) is given twice") }
            result[key] = word[word.index(after: equals)...].split(separator: ",").map(String.init)
        }
        return result
    }

    private static func network(_ words: ArraySlice<Substring>) throws(BerthError) -> DNSNetworkZone {
        guard let name = words.first, !name.contains("=") else { throw BerthError.invalid("a network line needs a name") }
        let values = try settings(words.dropFirst(), allowed: ["listen", "subnet", "upstream"])
        var listen: [IPAddress] = []
        for text in values["listen"] ?? [] { listen.append(try IPAddress(parsing: text)) }
        var subnets: [CIDR] = []
        for text in values["subnet"] ?? [] { subnets.append(try CIDR(parsing: text).network) }
        var upstreams: [DNSUpstream]?
        if let list = values["upstream"] {
            var parsed: [DNSUpstream] = []
            for text in list { parsed.append(try DNSUpstream(parsing: text)) }
            upstreams = parsed
        }
        return DNSNetworkZone(name: String(name), listenAddresses: listen, subnets: subnets, upstreams: upstreams)
    }

    private static func endpoint(_ words: ArraySlice<Substring>) throws(BerthError) -> DNSEndpointNames {
        guard let name = words.first, !name.contains("=") else { throw BerthError.invalid("an endpoint line needs a name") }
        let values = try settings(words.dropFirst(), allowed: ["address", "alias"])
        var addresses: [IPAddress] = []
        for text in values["address"] ?? [] { addresses.append(try IPAddress(parsing: text)) }
        guard !addresses.isEmpty else { throw BerthError.invalid("endpoint \(name) has no address=") }
        var aliases: [DNSName] = []
        for text in values["alias"] ?? [] { aliases.append(try DNSName(hostname: text)) }
        return DNSEndpointNames(name: try DNSName(hostname: String(name)), aliases: aliases, addresses: addresses)
    }
}

/// A table file, reloaded when it is rewritten: an inotify watch on its directory sees it
/// closed after writing or renamed into place (the atomic way to replace it).
public final class DNSTableFileSource: DNSTableSource {
    public let path: String
    private let watch: FileWatch

    /// Watches `path`'s directory (when inotify is available; otherwise SIGHUP reloads).
    public init(path: String) {
        self.path = path
        watch = FileWatch(paths: [path])
    }

    public func load() throws(BerthError) -> DNSTable {
        let bytes = try FileBytes.read(path: path, limit: DNSTableFile.maxSize)
        do {
            return try DNSTableFile.parse(String(decoding: bytes, as: UTF8.self))
        } catch {
            throw BerthError(error.code, "\(path): \(error.message)", hint: error.hint, object: .file(path), cause: error.cause)
        }
    }

    public var changeDescriptor: Int32? { watch.descriptor >= 0 ? watch.descriptor : nil }

    public func drainChanges() -> Bool { watch.drain() }
}
