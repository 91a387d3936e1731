import BerthCore
import BerthNamespace
import BerthNetwork
import BerthRun
import Foundation
import Testing

@Suite("ContainerFiles")
struct ContainerFilesTests {
    private func withTemporaryRootfs<T>(_ body: (String) throws -> T) throws -> T {
        let path = NSTemporaryDirectory() + "berth-files-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try body(path)
    }

    @Test("resolv.conf keeps upstream servers, search and options, drops loopback and link-local servers, and IPv6 ones for a container without IPv6")
    func resolvConfFiltering() {
        let host = """
            # generated
            nameserver 127.0.0.53
            nameserver 10.0.0.2
            nameserver ::1
            nameserver fe80::1%eth0
            nameserver 2001:db8::53
            search lan example.com
            options edns0 trust-ad

            """
        #expect(ContainerFiles.resolvConf(fromHost: host) == """
            # generated
            nameserver 10.0.0.2
            search lan example.com
            options edns0 trust-ad

            """)
        #expect(ContainerFiles.resolvConf(fromHost: host, ipv6: true) == """
            # generated
            nameserver 10.0.0.2
            nameserver 2001:db8::53
            search lan example.com
            options edns0 trust-ad

            """)
        // Only IPv6 nameservers on the host, none usable by a container without IPv6 (or
        // only link-local ones): Docker's fallback.
        #expect(ContainerFiles.resolvConf(fromHost: "nameserver 2001:db8::53\nsearch lan\n") == "search lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n")
        #expect(ContainerFiles.resolvConf(fromHost: "nameserver fe80::1%eth0\n", ipv6: true)
                == "nameserver 8.8.8.8\nnameserver 8.8.4.4\nnameserver 2001:4860:4860::8888\nnameserver 2001:4860:4860::8844\n")
        // Nothing left (dnsmasq or unbound on 127.0.0.1): Docker's fallback, the IPv6 pair too on an IPv6 network.
        #expect(ContainerFiles.resolvConf(fromHost: "nameserver 127.0.0.1\nsearch lan\n") == "search lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n")
        #expect(ContainerFiles.resolvConf(fromHost: "", ipv6: true)
                == "nameserver 8.8.8.8\nnameserver 8.8.4.4\nnameserver 2001:4860:4860::8888\nnameserver 2001:4860:4860::8844\n")
    }

    @Test("an IPv6-only container keeps only the host's IPv6 nameservers, and falls back to Google's IPv6 pair alone")
    func resolvConfIPv6Only() throws {
        let host = "nameserver 10.0.0.2\nnameserver 2001:db8::53\nsearch lan\n"
        #expect(ContainerFiles.resolvConf(fromHost: host, ipv4: false, ipv6: true) == "nameserver 2001:db8::53\nsearch lan\n")
        // Only IPv4 servers on the host: none it can reach, so the fallback of its family.
        #expect(ContainerFiles.resolvConf(fromHost: "nameserver 10.0.0.2\nsearch lan\n", ipv4: false, ipv6: true)
                == "search lan\nnameserver 2001:4860:4860::8888\nnameserver 2001:4860:4860::8844\n")
        #expect(ContainerFiles.defaultNameservers(ipv4: false, ipv6: true) == ["2001:4860:4860::8888", "2001:4860:4860::8844"])
        // Dual stack keeps both; a container with neither family (no network) keeps IPv4's.
        #expect(ContainerFiles.resolvConf(fromHost: host, ipv4: true, ipv6: true) == host)
        #expect(ContainerFiles.resolvConf(fromHost: host, ipv4: false, ipv6: false) == "nameserver 10.0.0.2\nsearch lan\n")
        #expect(ContainerFiles.defaultNameservers(ipv4: false, ipv6: false) == ["8.8.8.8", "8.8.4.4"])
        // The file berth run writes for such a container.
        try withTemporaryRootfs { root in
            let hostFile = root + "/host-resolv.conf"
            try host.write(toFile: hostFile, atomically: true, encoding: .utf8)
            try ContainerFiles.writeResolvConf(directory: root, ipv4: false, ipv6: true, hostResolvConf: hostFile)
            #expect(try String(contentsOfFile: root + "/resolv.conf", encoding: .utf8) == "nameserver 2001:db8::53\nsearch lan\n")
        }
    }

    @Test("/etc/hosts names a dual-stack container at both its addresses, IPv4 first; an IPv4-only one at its IPv4 address")
    func hostsBothFamilies() throws {
        var endpoint = EndpointRecord(id: "e1", network: "web", namespacePath: "/run/netns/e1", namespaceIdentity: NamespaceIdentity(device: 4, inode: 9),
                                      interfaceName: try InterfaceName("eth0"), hostVeth: try InterfaceName("vb1"), address: try IPv4Address(parsing: "10.88.0.5"),
                                      mac: try MACAddress(parsing: "02:42:0a:58:00:05"), created: 1)
        #expect(ContainerFiles.hostsAddresses(of: endpoint).map(\.description) == ["10.88.0.5"])
        endpoint.ipv6Address = try IPv6Address(parsing: "fd00:9::5")
        #expect(ContainerFiles.hosts(hostname: "web", addresses: ContainerFiles.hostsAddresses(of: endpoint)).hasSuffix("\n10.88.0.5\tweb\nfd00:9::5\tweb\n"))
        #expect(ContainerFiles.hostsAddresses(of: nil).isEmpty)
        // IPv6-only: the IPv6 address alone.
        endpoint.address = nil
        #expect(ContainerFiles.hosts(hostname: "web", addresses: ContainerFiles.hostsAddresses(of: endpoint)).hasSuffix("ip6-allrouters\nfd00:9::5\tweb\n"))
    }

    @Test("hostname, hosts and resolv.conf are written into the container's directory")
    func writesFiles() throws {
        try withTemporaryRootfs { root in
            let address = try IPAddress(parsing: "10.88.0.5")
            try ContainerFiles.writeHostname(directory: root, hostname: "web")
            try ContainerFiles.writeHosts(directory: root, hostname: "web", addresses: [address])
            let searching = root + "/host-search.conf"
            try "nameserver 127.0.0.53\nsearch a.example\nsearch b.example c.example\noptions edns0\n".write(toFile: searching, atomically: true, encoding: .utf8)
            try ContainerFiles.writeResolvConf(directory: root, nameservers: [try IPAddress(parsing: "1.1.1.1")], hostResolvConf: searching)
            #expect(try String(contentsOfFile: root + "/hostname", encoding: .utf8) == "web\n")
            let hosts = try String(contentsOfFile: root + "/hosts", encoding: .utf8)
            #expect(hosts.hasPrefix("127.0.0.1\tlocalhost\n"))
            #expect(hosts.hasSuffix("10.88.0.5\tweb\n"))
            // The network's resolver, the host's last search line (as glibc reads it), its
            // options and ndots:0 (ResolvConf.containerText).
            #expect(try String(contentsOfFile: root + "/resolv.conf", encoding: .utf8)
                    == "# Written by Berth: the network's resolver; search domains and options from the host.\n"
                    + "nameserver 1.1.1.1\nsearch b.example c.example\noptions edns0 ndots:0\n")

            let hostFile = root + "/host-resolv.conf"
            try "nameserver 127.0.0.53\nnameserver 192.0.2.53\n".write(toFile: hostFile, atomically: true, encoding: .utf8)
            try ContainerFiles.writeResolvConf(directory: root, hostResolvConf: hostFile)
            #expect(try String(contentsOfFile: root + "/resolv.conf", encoding: .utf8) == "nameserver 192.0.2.53\n")
            // --network host: the host's file as it is, its loopback resolver included.
            try ContainerFiles.writeResolvConf(directory: root, hostNetwork: true, hostResolvConf: hostFile)
            #expect(try String(contentsOfFile: root + "/resolv.conf", encoding: .utf8) == "nameserver 127.0.0.53\nnameserver 192.0.2.53\n")
        }
    }

    @Test("a file is rewritten in place: the inode a bind mount holds gets the new content")
    func rewritesInPlace() throws {
        try withTemporaryRootfs { root in
            try ContainerFiles.writeHosts(directory: root, hostname: "first", addresses: [try IPAddress(parsing: "10.88.0.5")])
            var before = stat()
            #expect(stat(root + "/hosts", &before) == 0)
            try ContainerFiles.writeHosts(directory: root, hostname: "second", addresses: [])
            var after = stat()
            #expect(stat(root + "/hosts", &after) == 0)
            #expect(before.st_ino == after.st_ino)
            #expect(after.st_mode & 0o777 == 0o644)
            let hosts = try String(contentsOfFile: root + "/hosts", encoding: .utf8)
            #expect(!hosts.contains("first") && hosts.hasSuffix("ip6-allrouters\n"))
        }
    }
}
