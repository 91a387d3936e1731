public import BerthCore

extension Confinement {
    /// The confinement as JSON, to carry it to another process (a detached supervisor) or
    /// keep it in state; `init(json:)` reads it back equal.
    ///
    /// ```json
    /// {"capabilities":2818844155,"seccomp":"docker","noNewPrivileges":false}
    /// ```
    ///
    /// `capabilities` is the bit set (bit n is capability n); `seccomp` is `"docker"` for
    /// Docker's default profile, `null` for none, else the whole profile (`SeccompProfile.json`).
    public var json: JSONValue {
        let profile: JSONValue = switch seccomp {
        case nil: .null
        case .docker?: "docker"
        case let other?: other.json
        }
        return ["capabilities": .bits(capabilities.rawValue), "seccomp": profile, "noNewPrivileges": .bool(noNewPrivileges)]
    }

    /// Reads what `json` wrote; a member missing, of the wrong type or unknown is an error
    /// (parameter "confinement", or "seccomp" inside the profile).
    public init(json: JSONValue) throws(BerthError) {
        let fields = try JSONMembers(json, what: "confinement", parameter: "confinement", known: ["capabilities", "seccomp", "noNewPrivileges"])
        let capabilities = CapabilitySet(rawValue: try fields.bits("capabilities"))
        let seccomp: SeccompProfile?
        switch fields.optional("seccomp") {
        case nil:
            // Present and null: unconfined. Absent: malformed, never silently unconfined.
            guard fields.members.contains(where: { $0.0 == "seccomp" }) else { throw fields.malformed("seccomp") }
            seccomp = nil
        case "docker"?: seccomp = .docker
        case let profile?: seccomp = try SeccompProfile(json: profile)
        }
        self.init(capabilities: capabilities, seccomp: seccomp, noNewPrivileges: try fields.bool("noNewPrivileges"))
    }
}
