import BerthCore

extension StateTransaction {
    /// Refuses names that would make the network's resolver table ambiguous (docs/dns.md),
    /// compared without case, as DNS does, and in every form the resolver answers: a name
    /// `N` is also answered as `N.NETWORK` when the network's name is a DNS label, so `db`
    /// and `db.front` clash on network `front`. Refused: a name another endpoint of the
    /// network holds, a name equal to another endpoint's alias, an alias equal to another
    /// endpoint's name; and, on a network with DNS on, a name or alias ending in
    /// `.OTHER` for another network with DNS on (it would stand in for OTHER's own names
    /// for containers on both). Aliases shared by several endpoints are fine (they answer
    /// all addresses). Each error names the holder. Reads only the network's endpoints that
    /// have names, and the other networks only when a name has a dot.
    func checkNames(of endpoint: EndpointRecord, on network: NetworkRecord) throws(BerthError) {
        if let name = endpoint.name { try EndpointNames.validate(name, parameter: "name") }
        for alias in endpoint.aliases { try EndpointNames.validate(alias, parameter: "alias") }
        let name = endpoint.name?.lowercased()
        let aliases = Set(endpoint.aliases.map { $0.lowercased() })
        if let name, aliases.contains(name) {
            throw .invalid("alias \(name) is the endpoint's own name", hint: "leave the alias out", parameter: "alias")
        }
        if network.dns, name?.contains(".") == true || aliases.contains(where: { $0.contains(".") }) {
            try checkOtherDomains(name: name, aliases: aliases, network: network.name)
        }
        let domain = EndpointNames.domain(ofNetwork: network.name)
        let forms = { (raw: String) -> Set<String> in domain.map { [raw, raw + "." + $0] } ?? [raw] }
        let nameForms = name.map(forms) ?? []
        let aliasForms = aliases.reduce(into: Set<String>()) { $0.formUnion(forms($1)) }
        // " (both answered as N.NETWORK)" when the two differ as written.
        let how = { (mine: String, theirs: String, clash: String) -> String in
            mine == theirs ? "" : " (both answered as \(clash))"
        }
        let qualifiedHint = domain.map { " (on network \(network.name) every name N is also answered as N.\($0))" } ?? ""
        try db().forEach("SELECT id, name, aliases FROM endpoints WHERE network = ? AND id <> ? AND (name IS NOT NULL OR aliases IS NOT NULL)",
                         [.text(endpoint.network), .text(endpoint.id)]) { row throws(BerthError) in
            let holder = row.text(0)
            let holderName = row.optionalText(1)?.lowercased()
            let holderAliases = (row.optionalText(2).map(Self.splitList) ?? []).map { $0.lowercased() }
            if let name, let holderName, let clash = nameForms.intersection(forms(holderName)).min() {
                throw BerthError(.conflict, "name \(name) on network \"\(endpoint.network)\" is already held by endpoint \(holder)\(how(name, holderName, clash))",
                                 hint: "choose another name, or detach that endpoint first\(qualifiedHint)",
                                 object: .endpoint(holder), parameter: "name", remedy: .chooseAnother(parameter: "name"))
            }
            if let name, let hit = Self.firstClash(nameForms, holderAliases, forms) {
                throw BerthError(.conflict, "name \(name) on network \"\(endpoint.network)\" is an alias of endpoint \(holder)\(how(name, hit.alias, hit.form))",
                                 hint: "choose another name\(qualifiedHint)", object: .endpoint(holder), parameter: "name", remedy: .chooseAnother(parameter: "name"))
            }
            if let holderName, let clash = aliasForms.intersection(forms(holderName)).min() {
                let alias = aliases.first { forms($0).contains(clash) } ?? clash
                throw BerthError(.conflict, "alias \(alias) on network \"\(endpoint.network)\" is the name of endpoint \(holder)\(how(alias, holderName, clash))",
                                 hint: "choose another alias\(qualifiedHint)", object: .endpoint(holder), parameter: "alias", remedy: .chooseAnother(parameter: "alias"))
            }
        }
    }

    /// The first of `theirs` one of whose forms is in `mine`, with the form they share.
    private static func firstClash(_ mine: Set<String>, _ theirs: [String], _ forms: (String) -> Set<String>) -> (alias: String, form: String)? {
        for other in theirs {
            if let clash = mine.intersection(forms(other)).min() { return (other, clash) }
        }
        return nil
    }

    /// Refuses a name or alias under another DNS network's domain: `cache.back` on network
    /// `front` would answer for network `back`'s `cache` to a container on both.
    private func checkOtherDomains(name: String?, aliases: Set<String>, network: String) throws(BerthError) {
        let candidates = (name.map { [($0, "name")] } ?? []) + aliases.sorted().map { ($0, "alias") }
        try db().forEach("SELECT name FROM networks WHERE dns = 1 AND name <> ?", [.text(network)]) { row throws(BerthError) in
            let other = row.text(0)
            guard let domain = EndpointNames.domain(ofNetwork: other) else { return }
            for (candidate, parameter) in candidates where candidate.hasSuffix("." + domain) {
                throw BerthError(.conflict, "\(parameter) \(candidate) on network \"\(network)\" ends in .\(domain), the domain of network \(other): it would answer for that network's own names",
                                 hint: "choose \(parameter == "alias" ? "an alias" : "a name") that does not end in .\(domain)",
                                 object: .network(other), parameter: parameter, remedy: .chooseAnother(parameter: parameter))
            }
        }
    }
}
