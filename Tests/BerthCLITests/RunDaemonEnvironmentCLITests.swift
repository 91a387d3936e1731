import BerthTestSupport
import Foundation
import Testing

/// The variables Docker's daemon gives every container and exec'd command before their own
/// (moby's `CreateDaemonEnvironment`): `HOSTNAME`, and `TERM=xterm` with `-t`.
@Suite("berth run/exec: HOSTNAME and TERM as docker sets them (kernel)", .enabled(if: try KernelTests.enabled))
struct RunDaemonEnvironmentCLITests {
    @Test("run: HOSTNAME is the hostname, TERM=xterm only with -t; -e wins over both")
    func run() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs { rootfs in
                let script = "echo ${HOSTNAME-unset} ${TERM-unset}"
                let plain = sandbox.berth(["run", "--rm", "--network", "none", "--rootfs", rootfs.path, "-h", "box", "--", "sh", "-c", script])
                #expect(plain.status == 0 && plain.stdout == "box unset\n", "\(plain)")
                // -t without -i needs no terminal here: the container's is relayed (\r\n).
                let tty = sandbox.berth(["run", "--rm", "-t", "--network", "none", "--rootfs", rootfs.path, "-h", "box", "--", "sh", "-c", script])
                #expect(tty.status == 0 && tty.stdout == "box xterm\r\n", "\(tty)")
                let given = sandbox.berth(["run", "--rm", "-t", "--network", "none", "--rootfs", rootfs.path, "-h", "box",
                                           "-e", "HOSTNAME=mine", "-e", "TERM=vt100", "--", "sh", "-c", script])
                #expect(given.status == 0 && given.stdout == "mine vt100\r\n", "\(given)")
            }
        }
    }

    @Test("exec: the container's HOSTNAME (its -e wins), TERM=xterm only with exec -t, never run -t's")
    func exec() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs { rootfs in
                let script = "echo ${HOSTNAME-unset} ${TERM-unset}"
                #expect(sandbox.berth(["run", "-d", "-t", "--name", "envbox", "-h", "box", "--network", "none", "--rootfs", rootfs.path,
                                       "--", "sleep", "1000"]).status == 0)
                defer { sandbox.berth(["rm", "-f", "envbox"]) }
                let plain = sandbox.berth(["exec", "envbox", "sh", "-c", script])
                #expect(plain.status == 0 && plain.stdout == "box unset\n", "\(plain)")
                let tty = sandbox.berth(["exec", "-t", "envbox", "sh", "-c", script])
                #expect(tty.status == 0 && tty.stdout == "box xterm\r\n", "\(tty)")
                #expect(sandbox.berth(["run", "-d", "--name", "named", "-h", "box", "-e", "HOSTNAME=mine", "--network", "none", "--rootfs", rootfs.path,
                                       "--", "sleep", "1000"]).status == 0)
                defer { sandbox.berth(["rm", "-f", "named"]) }
                let given = sandbox.berth(["exec", "named", "sh", "-c", script])
                #expect(given.status == 0 && given.stdout == "mine unset\n", "\(given)")
            }
        }
    }
}
