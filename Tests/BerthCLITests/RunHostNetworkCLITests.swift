import BerthTestSupport
import Foundation
import Testing

/// `--network host` as Docker gives it: the host's hostname and the host's /etc/hosts.
@Suite("berth run --network host: the host's name and hosts file (kernel)", .enabled(if: try KernelTests.enabled))
struct RunHostNetworkCLITests {
    private var ownHostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        _ = gethostname(&buffer, buffer.count - 1)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    @Test("without --hostname the container is named as the host, in its UTS namespace, HOSTNAME and /etc/hostname; /etc/hosts is the host's")
    func hostName() throws {
        let hosts = try String(contentsOfFile: "/etc/hosts", encoding: .utf8)
        try withHostSandbox { sandbox in
            try withRunRootfs { rootfs in
                let script = "hostname; echo $HOSTNAME; cat /etc/hostname; cat /etc/hosts"
                let run = sandbox.berth(["run", "--rm", "--network", "host", "--rootfs", rootfs.path, "--", "sh", "-c", script])
                let name = ownHostName
                #expect(run.status == 0 && run.stdout == "\(name)\n\(name)\n\(name)\n" + hosts, "\(run)")
                // --hostname names the container, and the hosts file stays the host's (Docker adds nothing there).
                let named = sandbox.berth(["run", "--rm", "--network", "host", "-h", "box", "--rootfs", rootfs.path, "--", "sh", "-c", script])
                #expect(named.status == 0 && named.stdout == "box\nbox\nbox\n" + hosts, "\(named)")
            }
        }
    }
}
