import BerthCore
import BerthRun
import Foundation
import Testing

@Suite("ContainerSpec validation")
struct ContainerSpecTests {
    private func rejection(_ spec: ContainerSpec) throws -> BerthError {
        try #require(throws: BerthError.self) { try spec.validate() }
    }

    @Test("an empty command is refused naming the field, in the library's words")
    func emptyCommand() throws {
        let error = try rejection(ContainerSpec(command: []))
        #expect(error.code == .invalidArgument)
        #expect(error.parameter == "command")
        #expect(error.hint == "give the program to run and its arguments")
        #expect(try rejection(ContainerSpec(command: [""])).code == .invalidArgument)
    }

    @Test("root filesystem: absolute, existing, a directory, with a mount and a pid namespace")
    func rootfs() throws {
        #expect(try rejection(ContainerSpec(command: ["sh"], rootfs: "relative/root")).message.contains("relative/root"))
        #expect(try rejection(ContainerSpec(command: ["sh"], rootfs: "/")).code == .invalidArgument)
        #expect(try rejection(ContainerSpec(command: ["sh"], rootfs: "/no/such/dir-\(UUID().uuidString)")).code == .notFound)
        #expect(try rejection(ContainerSpec(command: ["sh"], rootfs: "/no/such/dir")).parameter == "rootfs")
        let file = try rejection(ContainerSpec(command: ["sh"], rootfs: "/etc/hostname"))
        #expect(file.message.contains("not a directory"))
        let noMount = try rejection(ContainerSpec(command: ["sh"], namespaces: [.pid, .network], rootfs: "/tmp"))
        #expect(noMount.message.contains("mount namespace"))
        let noPID = try rejection(ContainerSpec(command: ["sh"], namespaces: [.mount, .network], rootfs: "/tmp"))
        #expect(noPID.message == "a root filesystem needs a pid namespace" && noPID.parameter == "rootfs", "\(noPID)")
    }

    @Test("hostname: valid characters and a UTS namespace")
    func hostname() throws {
        #expect(try rejection(ContainerSpec(command: ["sh"], hostname: "-bad")).message.contains("-bad"))
        #expect(try rejection(ContainerSpec(command: ["sh"], hostname: "has space")).code == .invalidArgument)
        #expect(try rejection(ContainerSpec(command: ["sh"], hostname: String(repeating: "a", count: 65))).code == .invalidArgument)
        #expect(try rejection(ContainerSpec(command: ["sh"], namespaces: [.network], hostname: "ok")).message.contains("UTS"))
        try ContainerSpec(command: ["sh"], hostname: "web-1.local").validate()
    }

    @Test("environment entries need KEY=VALUE; later ones win; PATH and HOME default")
    func environment() throws {
        #expect(try rejection(ContainerSpec(command: ["sh"], environment: ["NOVALUE"])).message.contains("NOVALUE"))
        #expect(try rejection(ContainerSpec(command: ["sh"], environment: ["=x"])).code == .invalidArgument)
        let entries = try ContainerSpec.environmentEntries(["A=1", "EMPTY=", "A=2=3", "PATH=/bin"])
        #expect(entries.map { "\($0.key)=\($0.value)" } == ["PATH=/bin", "HOME=/root", "A=2=3", "EMPTY="])
    }

    @Test("the process's environment: HOSTNAME always, TERM=xterm with a terminal, before the spec's own entries, which win (docker's CreateDaemonEnvironment)")
    func daemonEnvironment() throws {
        func entries(_ spec: ContainerSpec) throws -> [String] {
            try ContainerSpec.environmentEntries(spec.processEnvironment).map { "\($0.key)=\($0.value)" }
        }
        let path = "PATH=" + ContainerSpec.defaultPath
        #expect(try entries(ContainerSpec(command: ["sh"], hostname: "box", environment: ["A=1"]))
                == [path, "HOME=/root", "HOSTNAME=box", "A=1"])
        #expect(try entries(ContainerSpec(command: ["sh"], hostname: "box", environment: ["A=1"], terminal: true))
                == [path, "HOME=/root", "HOSTNAME=box", "TERM=xterm", "A=1"])
        #expect(try entries(ContainerSpec(command: ["sh"], hostname: "box", environment: ["TERM=vt100", "HOSTNAME=mine"], terminal: true))
                == [path, "HOME=/root", "HOSTNAME=mine", "TERM=vt100"])
        #expect(ContainerSpec.daemonEnvironment(hostname: "box", terminal: false) == ["HOSTNAME=box"])
    }

    @Test("working directory must be absolute; stdio descriptors must be open")
    func workdirAndStdio() throws {
        #expect(try rejection(ContainerSpec(command: ["sh"], workingDirectory: "tmp")).message.contains("tmp"))
        #expect(try rejection(ContainerSpec(command: ["sh"], stdout: 987_654)).message.contains("987654"))
    }

    @Test("exit codes read as a shell reports them")
    func exitCodes() {
        #expect(ContainerExit.exited(3).code == 3)
        #expect(ContainerExit.signaled(SIGTERM).code == 143)
    }
}
