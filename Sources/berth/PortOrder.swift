import Berth

/// The order `port`, `inspect` and `ps --json` list a container's mappings in: the order of
/// its `-p` specs, and within a spec by container port (a range's ports in order), IPv4
/// before IPv6, then host address and port. The store keeps them by protocol and host port,
/// which with free host ports (`-p 9000-9002`) is the random order the kernel gave them.
/// An endpoint without specs (`berth attach`) lists them by container port the same way.
enum PortOrder {
    static func sorted(_ ports: [PortMappingRecord], specs: [PortSpec]) -> [PortMappingRecord] {
        func spec(of port: PortMappingRecord) -> Int {
            specs.firstIndex { spec in
                spec.protocol == port.proto && spec.containerPorts.contains(port.containerPort)
                    && (spec.hostAddress == nil || spec.hostAddress == port.hostAddress)
                    && (spec.hostPorts.map { $0.start == 0 || $0.contains(port.hostPort) } ?? true)
            } ?? specs.count
        }
        let keyed = ports.map { (spec: spec(of: $0), port: $0) }
        return keyed.sorted { a, b in
            if a.spec != b.spec { return a.spec < b.spec }
            let x = a.port, y = b.port
            if x.containerPort != y.containerPort { return x.containerPort < y.containerPort }
            if x.proto != y.proto { return x.proto.rawValue < y.proto.rawValue }
            if x.hostAddress.family != y.hostAddress.family { return x.hostAddress.family == .ipv4 }
            if x.hostAddress != y.hostAddress { return x.hostAddress.description < y.hostAddress.description }
            return x.hostPort < y.hostPort
        }.map(\.port)
    }
}
