import BerthCore
import BerthNetwork
import BerthTestSupport
@testable import BerthRun
import Foundation
import Testing

/// The values behind `docker run`'s options: volumes, restart policies, environment files,
/// users — parsed as Docker spells them, refused with the value at fault.
@Suite("Run option values")
struct RunValuesTests {
    @Test("volumes are attached parents first (by the target's depth, as Docker's sortMounts); equal depths keep their order")
    func mountOrder() {
        let given = [BindMount(source: "/a", target: "/mnt/x"), BindMount(source: "/b", target: "/mnt"),
                     BindMount(source: "/c", target: "//srv//y/"), BindMount(source: "/d", target: "/opt"),
                     BindMount(source: "/e", target: "/mnt/x/deep")]
        #expect(BindMount.inMountOrder(given).map(\.source) == ["/b", "/d", "/a", "/c", "/e"])
        #expect(BindMount.inMountOrder([]).isEmpty)
    }

    @Test("-v SRC:DST[:ro|rw] parses and prints back; bad spellings name the volume")
    func bindMounts() throws {
        #expect(try BindMount(parsing: "/srv/data:/data") == BindMount(source: "/srv/data", target: "/data"))
        #expect(try BindMount(parsing: "/srv/data:/data:ro") == BindMount(source: "/srv/data", target: "/data", readOnly: true))
        #expect(try BindMount(parsing: "/srv/data:/data:ro,rw").readOnly == false)
        #expect(try BindMount(parsing: "/a:/b:ro").description == "/a:/b:ro")
        for bad in ["/only", "", ":/data", "/a:", "/a:/b:ro:x", "/a:/b:z"] {
            let error = #expect(throws: BerthError.self) { try BindMount(parsing: bad) }
            #expect(error?.parameter == "volumes", "\(bad)")
        }
        let root = #expect(throws: BerthError.self) { try BindMount(source: "/tmp", target: "//").validate() }
        #expect(root?.message.contains("cannot be \"/\"") == true)
        for proc in ["/proc", "/proc/", "//proc", "/./proc"] {
            let error = #expect(throws: BerthError.self) { try BindMount(source: "/tmp", target: proc).validate() }
            #expect(error?.message == "volume /tmp:\(proc): the target cannot be /proc, the container's procfs", "\(proc)")
        }
        try BindMount(source: "/tmp", target: "/proc/meminfo-dir").validate()
        try BindMount(source: "/tmp", target: "/host/proc").validate()
        let relative = #expect(throws: BerthError.self) { try BindMount(source: "data", target: "/data").validate() }
        #expect(relative?.message == "volume source \"data\" is not an absolute path")
        let missing = #expect(throws: BerthError.self) { try BindMount(source: "/nonexistent/berth", target: "/data").validate() }
        #expect(missing?.code == .notFound && missing?.object == .file("/nonexistent/berth"))
        let twice = #expect(throws: BerthError.self) {
            try BindMount.validate([BindMount(source: "/tmp", target: "/data"), BindMount(source: "/tmp", target: "/data/")])
        }
        #expect(twice?.message == "duplicate mount point /data")
        // A spec refuses volumes and a read-only root without a root filesystem.
        let noRoot = #expect(throws: BerthError.self) {
            try ContainerSpec(command: ["true"], mounts: [BindMount(source: "/tmp", target: "/data")]).validate()
        }
        #expect(noRoot?.parameter == "volumes")
        let readOnly = #expect(throws: BerthError.self) { try ContainerSpec(command: ["true"], readOnlyRootfs: true).validate() }
        #expect(readOnly?.parameter == "readOnlyRootfs")
    }

    @Test("--restart: Docker's spellings; on-failure counts retries and ignores success; the wait doubles while runs are short")
    func restartPolicies() throws {
        #expect(try RestartPolicy(parsing: "no") == .no)
        #expect(try RestartPolicy(parsing: "always") == .always)
        #expect(try RestartPolicy(parsing: "on-failure") == .onFailure(maximumRetries: nil))
        #expect(try RestartPolicy(parsing: "on-failure:3") == .onFailure(maximumRetries: 3))
        // Docker enforces no maximum for a count of 0.
        #expect(try RestartPolicy(parsing: "on-failure:0") == .onFailure(maximumRetries: nil))
        #expect(try RestartPolicy(parsing: "unless-stopped") == .unlessStopped)
        #expect(RestartPolicy.unlessStopped.restarts(after: .exited(0), restarts: 100))
        for text in ["no", "always", "on-failure", "on-failure:12", "unless-stopped"] {
            #expect(try RestartPolicy(parsing: text).description == text)
        }
        for bad in ["sometimes", "on-failure:", "on-failure:-1", "on-failure:x", "unless_stopped"] {
            let error = #expect(throws: BerthError.self) { try RestartPolicy(parsing: bad) }
            #expect(error?.parameter == "restart", "\(bad)")
        }
        let twice = RestartPolicy.onFailure(maximumRetries: 2)
        #expect(twice.restarts(after: .exited(1), restarts: 0) && twice.restarts(after: .signaled(9), restarts: 1))
        #expect(!twice.restarts(after: .exited(1), restarts: 2) && !twice.restarts(after: .exited(0), restarts: 0))
        #expect(RestartPolicy.always.restarts(after: .exited(0), restarts: 100) && !RestartPolicy.no.restarts(after: .exited(1), restarts: 0))

        #expect(RestartPolicy.delay(previous: nil, lastRun: .seconds(1)) == .milliseconds(100))
        #expect(RestartPolicy.delay(previous: .milliseconds(100), lastRun: .seconds(1)) == .milliseconds(200))
        #expect(RestartPolicy.delay(previous: .seconds(40), lastRun: .seconds(1)) == .seconds(60))
        #expect(RestartPolicy.delay(previous: .seconds(40), lastRun: .seconds(11)) == .milliseconds(100))
        let both = #expect(throws: BerthError.self) {
            try RunOptions(process: ContainerSpec(command: ["true"]), restart: .always, autoRemove: true).validate()
        }
        #expect(both?.parameter == "restart")
    }

    @Test("--env-file: KEY=VALUE taken literally, comments and blank lines skipped, a name alone inherited or dropped")
    func environmentFile() throws {
        let text = "# comment\n\nA=1\n  B= 2 \nC=x=y\nEMPTY=\nINHERIT\nMISSING\r\nQUOTED=\"q\"\n"
        let entries = try EnvironmentFile.parse(text, source: "env.list") { $0 == "INHERIT" ? "from caller" : nil }
        #expect(entries == ["A=1", "B= 2 ", "C=x=y", "EMPTY=", "INHERIT=from caller", "QUOTED=\"q\""])
        let spaced = #expect(throws: BerthError.self) { try EnvironmentFile.parse("OK=1\nBAD KEY=1\n", source: "env.list") { _ in nil } }
        #expect(spaced?.message == "env.list line 2: variable \"BAD KEY\" contains whitespace")
        let unnamed = #expect(throws: BerthError.self) { try EnvironmentFile.parse("=1\n", source: "f") { _ in nil } }
        #expect(unnamed?.message.contains("line 1: no variable name") == true)
    }

    @Test("--env-file's text: a byte order mark opening it is no part of the first name")
    func environmentFileMark() throws {
        #expect(try EnvironmentFile.parse("\u{FEFF}INHERIT\nB=2\n", source: "env.list") { $0 == "INHERIT" ? "v" : nil } == ["INHERIT=v", "B=2"])
        #expect(try EnvironmentFile.parse("\u{FEFF}A=1\n", source: "env.list") { _ in nil } == ["A=1"])
    }

    @Test("--env-file as docker/cli reads it: a UTF-8 byte order mark opening line 1 is dropped; a line that is not UTF-8 is refused, named")
    func environmentFileEncoding() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        #expect(try EnvironmentFile.parse(bytes: bom + Array("A=1\r\nB=2\n".utf8), source: "env.list") { _ in nil } == ["A=1", "B=2"])
        // Only the first line's: elsewhere it is a character of the line, and of the name.
        #expect(try EnvironmentFile.parse(bytes: Array("A=1\n".utf8) + bom + Array("B=2\n".utf8), source: "env.list") { _ in nil }
                == ["A=1", "\u{FEFF}B=2"])
        for bad in [Array("A=1\nB=caf".utf8) + [0xE9] + Array("\n".utf8), Array("A=1\n# caf".utf8) + [0xFF] + Array("\n".utf8)] {
            let refused = #expect(throws: BerthError.self) { try EnvironmentFile.parse(bytes: bad, source: "env.list") { _ in nil } }
            #expect(refused?.message == "env.list line 2: not valid UTF-8" && refused?.hint == "save the file as UTF-8", "\(String(describing: refused))")
        }
    }

    @Test("-u: names and numbers resolved in the container's passwd and group, as runc does")
    func users() throws {
        let root = NSTemporaryDirectory() + "berth-users-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
        try "root:x:0:0:root:/root:/bin/sh\n# comment\nbob:x:1000:1000:Bob:/home/bob:/bin/sh\nbroken line\n".write(toFile: root + "/etc/passwd", atomically: true, encoding: .utf8)
        try "root:x:0:\nbob:x:1000:\nstaff:x:50:alice,bob\nwheel:x:10:root\n".write(toFile: root + "/etc/group", atomically: true, encoding: .utf8)
        #expect(try ContainerUser.resolve("bob", root: root) == ContainerUser(uid: 1000, gid: 1000, groups: [50], home: "/home/bob"))
        #expect(try ContainerUser.resolve("1000", root: root) == ContainerUser(uid: 1000, gid: 1000, groups: [50], home: "/home/bob"))
        #expect(try ContainerUser.resolve("root", root: root) == ContainerUser(uid: 0, gid: 0, groups: [10], home: "/root"))
        // An explicit group replaces the primary one and drops the supplementary ones.
        #expect(try ContainerUser.resolve("bob:staff", root: root) == ContainerUser(uid: 1000, gid: 50, home: "/home/bob"))
        #expect(try ContainerUser.resolve("bob:77", root: root) == ContainerUser(uid: 1000, gid: 77, home: "/home/bob"))
        // A uid the passwd file does not know is fine; its group is 0, its home /.
        #expect(try ContainerUser.resolve("4242", root: root) == ContainerUser(uid: 4242, gid: 0))
        let name = #expect(throws: BerthError.self) { try ContainerUser.resolve("alice", root: root) }
        #expect(name?.message == "unable to find user alice: no matching entries in passwd file" && name?.parameter == "user")
        let group = #expect(throws: BerthError.self) { try ContainerUser.resolve("bob:nope", root: root) }
        #expect(group?.message == "unable to find group nope: no matching entries in group file")
        for bad in ["", ":", "bob:", ":staff", "a:b:c"] {
            #expect(throws: BerthError.self, "\(bad)") { try ContainerUser.validate(bad) }
        }
        // A passwd that is a symlink (to the host's, say) is not read: only numbers work then.
        try FileManager.default.removeItem(atPath: root + "/etc/passwd")
        try FileManager.default.createSymbolicLink(atPath: root + "/etc/passwd", withDestinationPath: "/etc/passwd")
        #expect(throws: BerthError.self) { try ContainerUser.resolve("root", root: root) }
        #expect(try ContainerUser.resolve("0", root: root).uid == 0)
    }
}

@Suite("Container.cgroupParent")
struct CgroupParentTests {
    @Test("berth-<instance id>; an older Berth's: berth for the default state, berth-<16 hex digits of FNV-1a> for another")
    func parent() {
        #expect(Container.cgroupParent(instance: StateInstance(id: "3f9a2c1b")) == "berth-3f9a2c1b")
        #expect(Container.legacyCgroupParent(stateDirectory: "/var/lib/berth") == "berth")
        // FNV-1a 64 of the empty string is its offset basis.
        #expect(Container.legacyCgroupParent(stateDirectory: "") == "berth-cbf29ce484222325")
        let other = Container.legacyCgroupParent(stateDirectory: "/tmp/s")
        #expect(other.hasPrefix("berth-") && other.count == 22)
        #expect(other != Container.legacyCgroupParent(stateDirectory: "/tmp/t"))
    }

    /// A fence's private /var/lib/berth has the path of the machine's own state, and a gc of
    /// it removes every cgroup under its parent that it does not record: with a parent keyed
    /// on the path, that was every container of the machine's Berth (or of another fence).
    @Test("two states at one path (a state directory made again, a fence's private /var/lib/berth) never share a cgroup parent",
          .enabled(if: CgroupProbe.version != nil))
    func parentPerState() throws {
        let base = NSTemporaryDirectory() + "berth-parent-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let dir = base + "/state"
        let first = try Container.cgroups(manager: NetworkManager(stateDirectory: dir)).parent
        try FileManager.default.removeItem(atPath: dir)
        let second = try Container.cgroups(manager: NetworkManager(stateDirectory: dir)).parent
        #expect(first != second)
        #expect(first.hasPrefix("berth-") && second.hasPrefix("berth-"))
        #expect(try Container.cgroups(manager: NetworkManager(stateDirectory: dir)).parent == second, "one state keeps its parent")
    }
}
