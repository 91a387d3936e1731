import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

/// Containers for the hardening kernel tests, made and wired through the `berth` CLI (so
/// the same tests judge any build of it): a namespace with lo up and a TCP echo server on
/// port 80, attached to a network.
struct CLIContainer {
    let namespace: NetworkNamespace
    let name: String
    let id: String
    let server: EchoServer

    /// Makes the namespace and its server and attaches it as `id`; `state` is another
    /// state directory than the sandbox's.
    init(_ sandbox: HostSandbox, network: String, id: String, ports: [String] = [], state: String? = nil) throws {
        namespace = try sandbox.makeNamespace()
        name = try #require(namespace.name)
        self.id = id
        let up = Command.run(["ip", "-n", name, "link", "set", "lo", "up"])
        try #require(up.succeeded, "\(up)")
        server = try EchoServer(in: namespace, port: 80, banner: id)
        var args = ["attach", network, "--netns", name, "--id", id]
        for port in ports { args += ["-p", port] }
        if let state { args += ["--state-dir", state] }
        let attach = sandbox.berth(args)
        try #require(attach.succeeded, "\(attach)")
    }

    /// This container's address on its network, as `ip` shows it.
    var address: String? {
        let shown = Command.run(["ip", "-n", name, "-4", "-o", "addr", "show", "dev", "eth0"]).stdout
        // "2: eth0    inet 10.88.0.2/24 brd … scope global eth0"
        let words = shown.split(separator: " ", omittingEmptySubsequences: true)
        guard let inet = words.firstIndex(of: "inet"), inet + 1 < words.count else { return nil }
        return words[inet + 1].split(separator: "/").first.map(String.init)
    }

    /// Whether a TCP request from this container to `address:port` gets `banner`'s answer
    /// within `timeout` seconds.
    func reaches(_ address: String, _ port: UInt16 = 80, banner: String, timeout: Double = 2) -> Bool {
        (try? Probe.request(from: namespace, to: address, port: port, timeout: timeout))?.hasPrefix(banner + " ") == true
    }
}

extension HostSandbox {
    /// The MAC of a link in the sandbox, as `ip` shows it.
    func mac(of link: String) -> String? {
        Oracle.ip(self, ["link", "show", "dev", link]).first?["address"] as? String
    }
}
