public import BerthCore

/// The network configuration on stdin, checked: the keys of the reference bridge plugin
/// that mean the same for Berth, Berth's own keys, the IPAM section, runtime capabilities
/// and, from the runtime, `prevResult` and GC's valid attachments.
public struct CNIConfig: Sendable {
    public var cniVersion: CNIVersion
    /// The network's name: the Berth network an attachment joins (created on first use),
    /// or, chained, the group Berth records publications under.
    public var name: String
    public var type: String

    // The reference bridge plugin's keys.
    public var bridge: InterfaceName?
    public var mtu: Int?
    /// `ipMasq`, `isGateway`, `isDefaultGateway`, `hairpinMode`: Berth's networks always
    /// masquerade (unless internal), hold the gateway address, route by default through it
    /// and set hairpin mode; `true` is accepted, `false` is refused (see `init`).
    public var ipMasq: Bool?
    public var isGateway: Bool?
    public var isDefaultGateway: Bool?
    public var hairpinMode: Bool?

    // Berth's own keys.
    public var subnet: CIDR?
    public var gateway: IPv4Address?
    public var isInternal: Bool
    public var stateDir: String?
    /// A file to append the plugin's log lines to, instead of stderr.
    public var logFile: String?

    /// The `ipam` section (an object with a `type`), delegated to that plugin; nil means
    /// Berth's own IPAM.
    public var ipam: JSONValue?
    /// `dns`, passed through into the result.
    public var dns: JSONValue?
    /// `dnsEnabled`: a network this plugin creates gets Berth's resolver (off by default:
    /// CNI runtimes bring their own DNS). On an existing network the network's flag holds.
    public var dnsEnabled: Bool = false

    // Capabilities, from runtimeConfig.
    public var portMappings: [CNIPortMapping]
    /// `runtimeConfig.ips`: the address the runtime asks for.
    public var requestedAddress: IPv4Address?
    /// `runtimeConfig.mac`.
    public var requestedMAC: MACAddress?
    /// `runtimeConfig.aliases[name]`: the container's names on this network's resolver
    /// (the `aliases` capability: a map of network name to names).
    public var aliases: [String] = []

    /// `prevResult` as given (printed unchanged in chained mode).
    public var prevResult: JSONValue?
    /// GC's `cni.dev/valid-attachments` (or `cni.dev/attachments`): (container id, ifname).
    public var validAttachments: [(containerID: String, ifname: String)]?

    /// The type of the delegated IPAM plugin.
    public var ipamType: String? { ipam?["type"]?.stringValue }

    /// Checks the configuration. `lenient` (for DEL) ignores malformed optional keys, so
    /// a configuration edited after ADD never blocks a teardown. Errors: code 1 for a
    /// version Berth does not speak, code 7 for everything else.
    public init(_ json: JSONValue, lenient: Bool = false) throws(CNIError) {
        let reader = CNIConfigReader(json, lenient: lenient)
        guard let versionText = json["cniVersion"]?.stringValue else {
            throw CNIError(.incompatibleVersion, "the network configuration has no \"cniVersion\"",
                           details: "berth-cni speaks \(CNIVersion.supported.map(\.description).joined(separator: ", "))")
        }
        guard let version = CNIVersion(versionText), version.isSupported else {
            throw CNIError(.incompatibleVersion, "CNI version \(versionText) is not supported",
                           details: "berth-cni speaks \(CNIVersion.supported.map(\.description).joined(separator: ", "))")
        }
        cniVersion = version
        name = try reader.requiredString("name")
        type = try reader.string("type") ?? ""

        bridge = try reader.optional("bridge") { value throws(CNIError) in
            guard let text = value.stringValue, let name = try? InterfaceName(text) else {
                throw reader.invalid("bridge", "an interface name of 1 to 15 bytes without '/', ':' or whitespace")
            }
            return name
        }
        mtu = try reader.integer("mtu", in: 68...65535)
        ipMasq = try reader.bool("ipMasq")
        isGateway = try reader.bool("isGateway")
        isDefaultGateway = try reader.bool("isDefaultGateway")
        hairpinMode = try reader.bool("hairpinMode")
        if !lenient {
            for (key, value) in [("ipMasq", ipMasq), ("isGateway", isGateway), ("isDefaultGateway", isDefaultGateway), ("hairpinMode", hairpinMode)] where value == false {
                throw CNIError(.unsupportedField, "\"\(key)\": false is not supported by berth-cni",
                               details: "Berth's networks always \(Self.alwaysDoes[key] ?? "do this"); remove the key (or set \"internal\": true to keep traffic on the bridge)")
            }
        }
        subnet = try reader.parsed("subnet", "an IPv4 subnet like 10.88.0.0/16", { CIDR($0) })
        gateway = try reader.parsed("gateway", "an IPv4 address", { IPv4Address($0) })
        isInternal = try reader.bool("internal") ?? false
        stateDir = try reader.string("stateDir")
        logFile = try reader.string("logFile")

        ipam = try reader.objectValue("ipam")
        if let ipam {
            let section = CNIConfigReader(ipam, path: "ipam", lenient: lenient)
            let type = try section.requiredString("type")
            guard !type.contains("/"), type != ".", type != ".." else {
                throw CNIError(.invalidConfig, "\"ipam.type\" \"\(type)\" is not a plugin name", details: "name a plugin found in CNI_PATH, such as host-local")
            }
        }
        dns = try reader.objectValue("dns")
        if let enabled = json["dnsEnabled"] {
            guard let flag = enabled.boolValue else { throw CNIError(.invalidConfig, "\"dnsEnabled\" must be true or false") }
            dnsEnabled = flag
        }

        portMappings = []
        requestedAddress = nil
        requestedMAC = nil
        if let runtime = try reader.objectValue("runtimeConfig") {
            let section = CNIConfigReader(runtime, path: "runtimeConfig", lenient: lenient)
            for (i, element) in (try section.array("portMappings") ?? []).enumerated() {
                do {
                    if let mapping = try CNIPortMapping.parse(element, path: "runtimeConfig.portMappings[\(i)]") { portMappings.append(mapping) }
                } catch where lenient {}
            }
            if let ips = try section.array("ips") {
                // One IPv4 network: the first IPv4 entry is the one that applies.
                let addresses = ips.compactMap { $0.stringValue }.compactMap { text -> IPv4Address? in
                    IPv4Address(text) ?? CIDR(text).flatMap { $0.address.ipv4 }
                }
                if addresses.isEmpty, !ips.isEmpty, !lenient {
                    throw section.invalid("ips", "a list of IPv4 addresses like [\"10.88.0.5/16\"]")
                }
                requestedAddress = addresses.first
            }
            requestedMAC = try section.parsed("mac", "a MAC address like 02:42:0a:58:00:05", { MACAddress($0) })
            if let byNetwork = try section.objectValue("aliases"), let list = byNetwork[name]?.arrayValue {
                aliases = list.compactMap(\.stringValue)
                if aliases.count != list.count, !lenient { throw section.invalid("aliases", "a map of network name to a list of names") }
            }
        }

        prevResult = try reader.objectValue("prevResult")
        validAttachments = nil
        let validList = try reader.array("cni.dev/valid-attachments")
        let legacyList = try reader.array("cni.dev/attachments")
        if let list = validList ?? legacyList {
            var pairs: [(String, String)] = []
            for (i, element) in list.enumerated() {
                guard let containerID = element["containerID"]?.stringValue, let ifname = element["ifname"]?.stringValue else {
                    throw CNIError(.invalidConfig, "\"cni.dev/valid-attachments[\(i)]\" must be {\"containerID\": …, \"ifname\": …}")
                }
                pairs.append((containerID, ifname))
            }
            validAttachments = pairs
        }
    }

    private static let alwaysDoes = [
        "ipMasq": "masquerade outbound traffic (unless internal)",
        "isGateway": "give the bridge the gateway address",
        "isDefaultGateway": "route the container's default route through the gateway",
        "hairpinMode": "turn hairpin mode on, so a container reaches its own published ports",
    ]
}
