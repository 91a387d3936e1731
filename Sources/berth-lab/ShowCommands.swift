import ArgumentParser
import BerthCore
import BerthLab
import BerthLabFile
import BerthNetlink

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the labs.", aliases: ["list"])
    @Flag(name: .long, help: "Print JSON instead of columns.") var json = false
    @OptionGroup var state: StateOptions

    func run() throws {
        let manager = try state.manager()
        var rows: [[String]] = []
        var objects: [JSONValue] = []
        for record in try manager.list() {
            let status = record.status.rawValue
            let spec = record.spec
            let networks = spec?.networks.map(\.name) ?? []
            rows.append([record.name, status, "\(spec?.nodes.count ?? record.nodes.count)", "\(spec?.links.count ?? 0)",
                         networks.isEmpty ? "-" : networks.joined(separator: ","), record.source])
            objects.append(.object([("name", .string(record.name)), ("status", .string(status)),
                                    ("nodes", .array((spec?.nodes.map(\.name) ?? record.nodes.sorted()).map(JSONValue.string))),
                                    ("links", .integer(Int64(spec?.links.count ?? 0))),
                                    ("networks", .array(networks.map(JSONValue.string))),
                                    ("createdNetworks", .array(record.networks.sorted().map(JSONValue.string))),
                                    ("source", .string(record.source))]))
        }
        if json {
            say(JSONValue.array(objects).render(pretty: true))
        } else {
            table(["NAME", "STATUS", "NODES", "LINKS", "NETWORKS", "FILE"], rows)
        }
    }
}

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a lab as the kernel holds it: nodes, interfaces, addresses, routes, impairments, networks, published ports, containers."
    )
    @Argument(help: "The lab's name or file.") var lab: String
    @Flag(name: .long, help: "Print JSON.") var json = false
    @OptionGroup var state: StateOptions

    func run() throws {
        let (spec, observation) = try state.manager().inspect(try LabArgument.name(lab, state: state))
        let value = observation.json(spec: spec)
        if json { say(value.render(pretty: true)); return }
        say("lab \(spec.name) (\(spec.source))")
        for node in value["nodes"]?.arrayValue ?? [] {
            let name = node["name"]?.stringValue ?? "?"
            let exists = node["exists"]?.boolValue == true
            say("\(name)  netns \(node["namespace"]?.stringValue ?? "?")\(exists ? "" : "  MISSING")")
            for interface in node["interfaces"]?.arrayValue ?? [] {
                var line = "  \(interface["ifname"]?.stringValue ?? "?")"
                if let peer = interface["peer"]?.stringValue { line += " -> \(peer)" }
                line += "  mtu \(interface["mtu"]?.intValue ?? 0) \(interface["up"]?.boolValue == true ? "up" : "down")"
                let addresses = (interface["addresses"]?.arrayValue ?? []).compactMap(\.stringValue)
                if !addresses.isEmpty { line += "  " + addresses.joined(separator: " ") }
                if let impairment = interface["impairment"]?["text"]?.stringValue { line += "  [\(impairment)]" }
                say(line)
            }
            if let network = node["network"], !network.isNull {
                let ports = (network["ports"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }
                say("  network \(network["name"]?.stringValue ?? "?") \(network["ifname"]?.stringValue ?? "?") \(network["address"]?.stringValue ?? "?")"
                    + (ports.isEmpty ? "" : "  " + ports.joined(separator: " ")))
            }
            if let container = node["container"], !container.isNull {
                let command = (container["command"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: " ")
                say("  container \(container["name"]?.stringValue ?? "?") pid \(container["pid"]?.intValue ?? 0)"
                    + (container["running"]?.boolValue == true ? "" : "  NOT RUNNING") + "  \(command)")
            }
            for route in node["routes"]?.arrayValue ?? [] {
                var line = "  route \(route["dst"]?.stringValue ?? "?")"
                if let gateway = route["gateway"]?.stringValue { line += " via \(gateway)" }
                if let dev = route["dev"]?.stringValue { line += " dev \(dev)" }
                say(line)
            }
        }
    }
}

struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Print a lab's topology in Graphviz dot (pipe it to: dot -Tpng -o lab.png)."
    )
    @Argument(help: "The lab's name or file.") var lab: String
    @OptionGroup var state: StateOptions

    func run() throws {
        if LabArgument.isFile(lab) {
            print(try LabFileParser.parse(path: lab).spec.dot, terminator: "")
        } else {
            print(try state.manager().record(try LabArgument.name(lab, state: state)).1.dot, terminator: "")
        }
    }
}

/// Aligned columns, two spaces apart.
func table(_ header: [String], _ rows: [[String]]) {
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
    for row in [header] + rows {
        var line = ""
        for (i, cell) in row.enumerated() {
            line += cell
            if i < row.count - 1 { line += String(repeating: " ", count: widths[i] - cell.count + 2) }
        }
        say(line)
    }
}
