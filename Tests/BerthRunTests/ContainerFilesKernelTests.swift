import BerthCore
import BerthNetwork
@testable import BerthRun
import BerthTestSupport
import Foundation
import Testing

/// `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf` are the container's own, bind-mounted
/// over its rootfs's: the rootfs directory is never rewritten (docs/run.md).
@Suite("Container /etc files (kernel)", .enabled(if: try KernelTests.enabled), .serialized)
struct ContainerFilesKernelTests {
    @Test("two containers on one rootfs each see their own hostname and hosts; the rootfs's files are unchanged after both exit")
    func twoContainersOneRootfs() throws {
        try withHostSandbox { sandbox in
            try withRootfs { rootfs in
                let etc = rootfs.path + "/etc/"
                try "127.0.0.1\toriginal\n".write(toFile: etc + "hosts", atomically: true, encoding: .utf8)
                try "nameserver 192.0.2.1\n".write(toFile: etc + "resolv.conf", atomically: true, encoding: .utf8)
                // No etc/hostname: an empty one is made to mount on.
                let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
                let firstOut = try OutputPipe()
                let secondOut = try OutputPipe()
                // The first reads its files only once the second has started (and written its own).
                let first = try Container.run(RunOptions(process: ContainerSpec(
                    command: ["sh", "-c", "while ! test -e /tmp/go; do sleep 0.1; done; hostname; cat /etc/hostname /etc/hosts"],
                    hostname: "alpha", rootfs: rootfs.path, stdout: firstOut.write), name: "alpha", autoRemove: true), manager: manager)
                defer { first.forceRemove(manager: manager) }
                firstOut.closeWrite()
                let second = try Container.run(RunOptions(process: ContainerSpec(
                    command: ["sh", "-c", "hostname; cat /etc/hostname /etc/hosts; touch /tmp/go"],
                    hostname: "beta", rootfs: rootfs.path, stdout: secondOut.write), name: "beta", autoRemove: true), manager: manager)
                defer { second.forceRemove(manager: manager) }
                secondOut.closeWrite()
                let secondOutput = secondOut.readAll()
                #expect(try second.wait() == .exited(0))
                let firstOutput = firstOut.readAll()
                #expect(try first.wait() == .exited(0))
                let firstAddress = try #require(first.endpoint?.address)
                let secondAddress = try #require(second.endpoint?.address)
                #expect(firstOutput.hasPrefix("alpha\nalpha\n"), "\(firstOutput)")
                #expect(firstOutput.contains("\(firstAddress)\talpha\n") && !firstOutput.contains("beta"), "\(firstOutput)")
                #expect(secondOutput.hasPrefix("beta\nbeta\n"), "\(secondOutput)")
                #expect(secondOutput.contains("\(secondAddress)\tbeta\n") && !secondOutput.contains("alpha"), "\(secondOutput)")
                #expect(try String(contentsOfFile: etc + "hosts", encoding: .utf8) == "127.0.0.1\toriginal\n")
                #expect(try String(contentsOfFile: etc + "resolv.conf", encoding: .utf8) == "nameserver 192.0.2.1\n")
                #expect(try String(contentsOfFile: etc + "hostname", encoding: .utf8) == "")
                #expect(try FileManager.default.contentsOfDirectory(atPath: rootfs.path + "/etc").sorted() == ["hostname", "hosts", "resolv.conf"])
                // Removed with the containers: nothing left in the state directory.
                let containers = (try? FileManager.default.contentsOfDirectory(atPath: sandbox.stateDirectory + "/containers")) ?? []
                #expect(containers.isEmpty, "\(containers)")
            }
        }
    }

    @Test("--network host: resolv.conf is the host's as it is; --network none: the host's without loopback or IPv6 servers, or Docker's fallback")
    func resolvConfByNetwork() throws {
        try withHostSandbox { sandbox in
            try withRootfs { rootfs in
                let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
                func resolvConf(_ network: ContainerNetwork) throws -> String {
                    let out = try OutputPipe()
                    let container = try Container.run(RunOptions(process: ContainerSpec(command: ["cat", "/etc/resolv.conf"], rootfs: rootfs.path, stdout: out.write),
                                                                 network: network, autoRemove: true), manager: manager)
                    defer { container.forceRemove(manager: manager) }
                    out.closeWrite()
                    let text = out.readAll()
                    #expect(try container.wait() == .exited(0))
                    return text
                }
                let host = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
                #expect(try resolvConf(.host) == host)
                let none = try resolvConf(.none)
                // Always a nameserver the container can reach: never none, never a loopback one.
                #expect(none.contains("nameserver ") && !none.contains("nameserver 127.") && !none.contains("nameserver ::1"), "\(none)")
                // Without IPv6 (only lo), no IPv6 server either.
                #expect(!none.split(separator: "\n").contains { $0.hasPrefix("nameserver ") && $0.contains(":") }, "\(none)")
            }
        }
    }

    @Test("a rootfs without /etc gets none: the files are not mounted and no directory is made")
    func noEtc() throws {
        try withHostSandbox { sandbox in
            try withRootfs { rootfs in
                try FileManager.default.removeItem(atPath: rootfs.path + "/etc")
                let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
                let out = try OutputPipe()
                let container = try Container.run(RunOptions(process: ContainerSpec(command: ["sh", "-c", "test -e /etc; echo $?"], rootfs: rootfs.path,
                                                                                    stdout: out.write), network: .none, autoRemove: true), manager: manager)
                defer { container.forceRemove(manager: manager) }
                out.closeWrite()
                #expect(out.readAll() == "1\n")
                #expect(try container.wait() == .exited(0))
                #expect(!FileManager.default.fileExists(atPath: rootfs.path + "/etc"))
            }
        }
    }
}
