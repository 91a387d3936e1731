public import BerthCore

/// The network configuration on stdin, checked: the keys of the reference bridge plugin
/// that mean the same for Berth, Berth's own keys, the IPAM section, runtime capabilities
/// and, from the runtime, `prevResult` and GC's valid attachments.
public struct CNIConfig: Sendable {
    /// `cniVersion`: the specification version the runtime speaks, one the plugin supports.
    public var cniVersion: CNIVersion
    /// The network's name: the Berth network an attachment joins (created on first use),
    /// or, chained, the group Berth records publications under.
    public var name: String
    /// `type`: the plugin's name as the runtime found it; empty when absent.
    public var type: String

    // The reference bridge plugin's keys.
    /// `bridge`: the bridge interface's name for a network this plugin creates.
    public var bridge: InterfaceName?
    /// `mtu`: the MTU for a network this plugin creates, 68 to 65535.
    public var mtu: Int?
    /// `ipMasq`, `isGateway`, `isDefaultGateway`, `hairpinMode`: Berth's networks always
    /// masquerade (unless internal), hold the gateway address, route by default through it
    /// and set hairpin mode; `true` is accepted, `false` is refused (see `init`).
    public var ipMasq: Bool?
    /// `isGateway` (see `ipMasq`).
    public var isGateway: Bool?
    /// `isDefaultGateway` (see `ipMasq`).
    public var isDefaultGateway: Bool?
    /// `hairpinMode` (see `ipMasq`).
    public var hairpinMode: Bool?

    // Berth's own keys.
    /// `subnet`: the network's IPv4 subnet; Berth picks one when absent.
    public var subnet: CIDR?
    /// `gateway`: the bridge's IPv4 address in `subnet`; Berth chooses it when absent.
    public var gateway: IPv4Address?
    /// `ipv6`: the network is dual-stack (an IPv6 subnet beside the IPv4 one, chosen by
    /// Berth when `ipv6Subnet` is absent). Implied by `ipv6Subnet` or `ipv6Gateway`.
    public var ipv6: Bool = false
    /// `ipv6Subnet`, `ipv6Gateway`: the network's IPv6 subnet and the bridge's IPv6 address.
    public var ipv6Subnet: CIDR?
    /// `ipv6Gateway` (see `ipv6Subnet`).
    public var ipv6Gateway: IPv6Address?
    /// Whether the configuration asks for a dual-stack network.
    public var wantsIPv6: Bool { ipv6 || ipv6Subnet != nil || ipv6Gateway != nil }
    /// `ipv4`: false makes the network IPv6-only (as `--ipv4=false`); it needs IPv6 and
    /// refuses `subnet`/`gateway`. Absent means true: a network without the IPv4 keys picks
    /// its IPv4 subnet, as before.
    public var ipv4: Bool = true
    /// `internal`: a network this plugin creates gets no outbound masquerade and no published ports; false when absent.
    public var isInternal: Bool
    /// `stateDir`: Berth's state directory, which must be absolute; `$BERTH_STATE_DIR`, else /var/lib/berth, when absent.
    public var stateDir: String?
    /// A file to append the plugin's log lines to, instead of stderr: an absolute path (a
    /// relative one is refused, code 7; DEL ignores it).
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
    /// `runtimeConfig.portMappings`: the ports to publish.
    public var portMappings: [CNIPortMapping]
    /// `runtimeConfig.ips`: the IPv4 address the runtime asks for.
    public var requestedAddress: IPv4Address?
    /// `runtimeConfig.ips`: the IPv6 address the runtime asks for (a dual-stack network).
    public var requestedIPv6Address: IPv6Address?
    /// `runtimeConfig.mac`.
    public var requestedMAC: MACAddress?
    /// `runtimeConfig.aliases[name]`: the container's names on this network's resolver
    /// (the `aliases` capability: a map of network name to names).
    public var aliases: [String] = []

    /// `prevResult` as given (printed unchanged in chained mode).
    public var prevResult: JSONValue?
    /// GC's `cni.dev/valid-attachments` (or `cni.dev/attachments`): (container id, ifname).
    public var validAttachments: [(containerID: String, ifname: String)]?

    /// Whether this is a main plugin's configuration by its keys: only a main plugin leases
    /// (`ipam`) or shapes the network it creates (`subnet`, `gateway`, `bridge`, `mtu`,
    /// `ipv6`, `ipv6Subnet`, `ipv6Gateway`, `"ipv4": false`, `"internal": true`,
    /// `"dnsEnabled": true`); a chained configuration publishes ports and has none of them.
    /// A bare `{"type":"berth-cni"}` may be either: prevResult tells (CHECK).
    public var isMainConfiguration: Bool { !mainKeys.isEmpty }

    /// The keys present that make this a main plugin's configuration, in the order above.
    public var mainKeys: [String] {
        [("ipam", ipam != nil), ("subnet", subnet != nil), ("gateway", gateway != nil), ("bridge", bridge != nil), ("mtu", mtu != nil),
         ("ipv6", ipv6), ("ipv6Subnet", ipv6Subnet != nil), ("ipv6Gateway", ipv6Gateway != nil), ("ipv4", !ipv4),
         ("internal", isInternal), ("dnsEnabled", dnsEnabled)].filter(\.1).map(\.0)
    }

    /// `dns` when it sets something — nameservers, search domains, options or a domain —
    /// else nil: as the reference bridge plugin, an empty `"dns": {}` (or one of empty
    /// lists) does not hide the IPAM plugin's DNS or Berth's resolver.
    public var dnsIfSet: JSONValue? { Self.setting(dns) }

    /// A `dns` object when it sets something (nameservers, search domains, options or a
    /// domain), else nil — for the configuration's and for an IPAM result's, whose parse
    /// always has one (`{}` from host-local without `resolvConf`).
    public static func setting(_ dns: JSONValue?) -> JSONValue? {
        guard let dns else { return nil }
        let lists = ["nameservers", "search", "options"].contains { dns[$0]?.arrayValue?.isEmpty == false }
        // Optional.none, not JSONValue's nil literal (null), which would win over the rest.
        guard lists || dns["domain"]?.stringValue?.isEmpty == false else { return Optional<JSONValue>.none }
        return dns
    }

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
            // One check per key, not a loop over an array of (key, value) pairs: that tuple
            // and its array are two generic types built at first use (perf8).
            func refuseFalse(_ key: String, _ value: Bool?) throws(CNIError) {
                guard value == false else { return }
                throw CNIError(.unsupportedField, "\"\(key)\": false is not supported by berth-cni",
                               details: "Berth's networks always \(Self.alwaysDoes[key] ?? "do this"); remove the key (or set \"internal\": true to keep traffic on the bridge)")
            }
            try refuseFalse("ipMasq", ipMasq)
            try refuseFalse("isGateway", isGateway)
            try refuseFalse("isDefaultGateway", isDefaultGateway)
            try refuseFalse("hairpinMode", hairpinMode)
        }
        // One key per family, as the library's options and `berth network create` have them;
        // an address of the other family in a key is refused naming the right key.
        subnet = try reader.parsed("subnet", "an IPv4 subnet like 10.88.0.0/16 (an IPv6 one goes in \"ipv6Subnet\")",
                                   { CIDR($0).flatMap { $0.family == .ipv4 ? $0 : nil } })
        gateway = try reader.parsed("gateway", "an IPv4 address (an IPv6 one goes in \"ipv6Gateway\")", { IPv4Address($0) })
        ipv6 = try reader.bool("ipv6") ?? false
        ipv6Subnet = try reader.parsed("ipv6Subnet", "an IPv6 subnet like fd00:88::/64 (an IPv4 one goes in \"subnet\")",
                                       { CIDR($0).flatMap { $0.family == .ipv6 ? $0 : nil } })
        ipv6Gateway = try reader.parsed("ipv6Gateway", "an IPv6 address like fd00:88::1 (an IPv4 one goes in \"gateway\")", { IPv6Address($0) })
        if !lenient, try reader.bool("ipv6") == false, ipv6Subnet != nil || ipv6Gateway != nil {
            throw CNIError(.invalidConfig, "\"ipv6\": false contradicts \"ipv6Subnet\"/\"ipv6Gateway\"",
                           details: "remove \"ipv6\": false for a dual-stack network, or the IPv6 keys for an IPv4-only one")
        }
        ipv4 = try reader.bool("ipv4") ?? true
        if !lenient, !ipv4 {
            guard ipv6 || ipv6Subnet != nil || ipv6Gateway != nil else {
                throw CNIError(.invalidConfig, "\"ipv4\": false leaves the network no family",
                               details: "add \"ipv6\": true (or \"ipv6Subnet\") for an IPv6-only network, or remove \"ipv4\": false")
            }
            if subnet != nil || gateway != nil {
                throw CNIError(.invalidConfig, "\"ipv4\": false contradicts \"subnet\"/\"gateway\"",
                               details: "remove \"subnet\" and \"gateway\" for an IPv6-only network, or \"ipv4\": false for one with IPv4")
            }
        }
        isInternal = try reader.bool("internal") ?? false
        // Where the teardown happens, and what gives back the lease: a malformed `stateDir`
        // or `ipam` is refused even by DEL's lenient reader, as taken for absent it would
        // tear down in the default state (finding nothing, and succeeding) or skip the
        // IPAM plugin's DEL, leaving the real attachment and its lease behind.
        let strict = CNIConfigReader(json)
        stateDir = try strict.string("stateDir")
        logFile = try reader.string("logFile")
        if let path = logFile, !path.isEmpty, !path.hasPrefix("/") {
            // As a relative stateDir: a runtime runs plugins in its own working directory.
            // DEL (lenient) logs to stderr instead, so a teardown is never blocked.
            guard lenient else {
                throw CNIError(.invalidConfig, "\"logFile\": \(path) is not an absolute path",
                               details: "a runtime runs plugins in its own working directory, so it would be a file wherever that is: give \"logFile\" an absolute path, or leave it out to log to stderr")
            }
            logFile = nil
        }

        ipam = try strict.objectValue("ipam")
        if let ipam {
            let section = CNIConfigReader(ipam, path: "ipam", lenient: lenient)
            let type = try section.requiredString("type")
            guard !type.contains("/"), type != ".", type != ".." else {
                throw CNIError(.invalidConfig, "\"ipam.type\" \"\(type)\" is not a plugin name", details: "name a plugin found in CNI_PATH, such as host-local")
            }
        }
        dns = try reader.objectValue("dns")
        if let enabled = try reader.bool("dnsEnabled") { dnsEnabled = enabled }

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
                // One address per family: the first entry of each family is the one that applies.
                let addresses = ips.compactMap { $0.stringValue }.compactMap { text -> IPAddress? in
                    IPAddress(text) ?? CIDR(text)?.address
                }
                if addresses.count != ips.count, !lenient {
                    throw section.invalid("ips", "a list of IP addresses like [\"10.88.0.5/16\", \"fd00:88::5/64\"]")
                }
                requestedAddress = addresses.lazy.compactMap(\.ipv4).first
                requestedIPv6Address = addresses.lazy.compactMap(\.ipv6).first
            }
            requestedMAC = try section.parsed("mac", "a MAC address like 02:42:0a:58:00:05", { MACAddress($0) })
            // This network's entry must be a list of strings: anything else (a string, an
            // object) is refused as a list holding a non-string is, never read as no names.
            if let byNetwork = try section.objectValue("aliases"), let entry = byNetwork[name], !entry.isNull {
                let list = entry.arrayValue ?? []
                aliases = list.compactMap(\.stringValue)
                if entry.arrayValue == nil || aliases.count != list.count, !lenient {
                    throw section.invalid("aliases", "a map of network name to a list of names")
                }
            }
            // A delegated IPAM plugin reads ipRanges from the same stdin itself.
            if !lenient, ipam == nil, let sets = try section.array("ipRanges"), !sets.isEmpty {
                try applyIPRanges(sets)
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
        } else if reader.object["cni.dev/valid-attachments"]?.isNull == true || reader.object["cni.dev/attachments"]?.isNull == true {
            // libcni's GCNetworkList sends an empty Go slice as null (CRI-O's for a network
            // with no live pod): no attachment is valid, as host-local reads it too.
            validAttachments = []
        }
    }

    /// `runtimeConfig.ipRanges` (the `ipRanges` capability) with Berth's own IPAM: each
    /// range set's one range gives its family's subnet and gateway, over the configuration's
    /// keys, as host-local takes ipRanges over its own ranges. What Berth's IPAM cannot do —
    /// `rangeStart`/`rangeEnd`, several ranges in a set, two sets of a family — is code 2
    /// naming the key: a runtime's ranges silently dropped would lease outside them.
    private mutating func applyIPRanges(_ sets: [JSONValue]) throws(CNIError) {
        let fix = "Berth's own IPAM leases from the network's whole subnet, one per family; for address ranges give the network an \"ipam\" section with host-local, which reads runtimeConfig.ipRanges"
        var families: Set<IPFamily> = []
        for (i, set) in sets.enumerated() {
            let path = "runtimeConfig.ipRanges[\(i)]"
            guard let ranges = set.arrayValue, let first = ranges.first, first.objectValue != nil else {
                throw CNIError(.invalidConfig, "\"\(path)\" must be a list of ranges like [{\"subnet\": \"10.88.0.0/16\"}]")
            }
            guard ranges.count == 1 else {
                throw CNIError(.unsupportedField, "\"\(path)\" has \(ranges.count) ranges", details: fix)
            }
            let range = CNIConfigReader(first, path: "\(path)[0]")
            for key in ["rangeStart", "rangeEnd"] where range.value(key) != nil {
                throw CNIError(.unsupportedField, "\"\(range.name(key))\" is not supported with Berth's own IPAM", details: fix)
            }
            guard let cidr = try range.parsed("subnet", "a subnet like 10.88.0.0/16", { CIDR($0) }) else {
                throw CNIError(.invalidConfig, "\"\(range.name("subnet"))\" is missing", details: "give each range a subnet")
            }
            guard families.insert(cidr.family).inserted else {
                throw CNIError(.unsupportedField, "\"\(path)\" is a second \(cidr.family.label) range set", details: fix)
            }
            let gatewayAddress = try range.parsed("gateway", "an address in \(cidr)", { IPAddress($0).flatMap { $0.family == cidr.family ? $0 : nil } })
            switch cidr.family {
            case .ipv4:
                guard ipv4 else {
                    throw CNIError(.invalidConfig, "\"\(path)\" is an IPv4 range, and the network is IPv6-only (\"ipv4\": false)",
                                   details: "give an IPv6 range, or remove \"ipv4\": false")
                }
                subnet = cidr
                gateway = gatewayAddress?.ipv4
            case .ipv6:
                ipv6Subnet = cidr
                ipv6Gateway = gatewayAddress?.ipv6
            }
        }
    }

    private static let alwaysDoes = [
        "ipMasq": "masquerade outbound traffic (unless internal)",
        "isGateway": "give the bridge the gateway address",
        "isDefaultGateway": "route the container's default route through the gateway",
        "hairpinMode": "turn hairpin mode on, so a container reaches its own published ports",
    ]
}
