import BerthConfine
import BerthCore
import BerthNamespace
import BerthNetlink
import BerthRun
import BerthTestSupport
import Foundation
import Testing

/// The fields of /proc/self/status that show a process's confinement.
private struct Status {
    let seccomp: String?
    let noNewPrivs: String?
    let capEff: String?
    let capPrm: String?
    let capBnd: String?
    /// What the command printed before the status fields (`id -u` in the user tests).
    let lines: [String]

    init(_ text: String) {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            fields[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        seccomp = fields["Seccomp"]
        noNewPrivs = fields["NoNewPrivs"]
        capEff = fields["CapEff"]
        capPrm = fields["CapPrm"]
        capBnd = fields["CapBnd"]
        lines = text.split(separator: "\n").map(String.init)
    }
}

private func hex(_ caps: CapabilitySet) -> String {
    let digits = String(caps.rawValue, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}

@Suite("Seccomp and capabilities (kernel)", .enabled(if: try KernelTests.enabled))
struct ConfinementKernelTests {
    private func status(_ spec: ContainerSpec) throws -> Status {
        let result = try run(spec)
        #expect(result.status == .exited(0), "\(result.errors)")
        return Status(result.output)
    }

    @Test("by default the filter is on (Seccomp: 2) with Docker's capabilities; unconfined, privileged and no-new-privileges show as such")
    func statusFields() throws {
        try withRootfs { rootfs in
            let command = ["cat", "/proc/self/status"]
            let standard = try status(ContainerSpec(command: command, rootfs: rootfs.path))
            #expect(standard.seccomp == "2")
            #expect(standard.noNewPrivs == "0")
            #expect(standard.capEff == hex(.docker) && standard.capBnd == hex(.docker))

            var unconfined = Confinement()
            try SecurityOption(parsing: "seccomp=unconfined").apply(to: &unconfined)
            #expect(try status(ContainerSpec(command: command, rootfs: rootfs.path, confinement: unconfined)).seccomp == "0")

            let privileged = try status(ContainerSpec(command: command, rootfs: rootfs.path, privileged: true))
            #expect(privileged.seccomp == "0")
            #expect(privileged.capEff != hex(.docker))

            var noNewPrivileges = Confinement()
            try SecurityOption(parsing: "no-new-privileges").apply(to: &noNewPrivileges)
            let nnp = try status(ContainerSpec(command: command, rootfs: rootfs.path, confinement: noNewPrivileges))
            #expect(nnp.seccomp == "2" && nnp.noNewPrivs == "1")
            #expect(nnp.capEff == hex(.docker))

            let adjusted = Confinement(capabilities: try CapabilitySet.docker.adjusted(adding: ["NET_ADMIN"], dropping: ["CHOWN"]))
            let tweaked = try status(ContainerSpec(command: command, rootfs: rootfs.path, confinement: adjusted))
            #expect(tweaked.capEff == hex(adjusted.capabilities))
        }
    }

    /// runc's order: the bounding set is cut, PR_SET_KEEPCAPS kept while the user changes,
    /// the capabilities set after. So a container keeping neither SETUID nor SETGID (Docker's
    /// `--cap-drop ALL --user 1000`) still switches user; a non-root user then ends with no
    /// capabilities (execve of a program without file capabilities grants a non-root uid
    /// none, as in Docker), the bounding set the container's; uid 0 keeps its set.
    @Test("--cap-drop ALL --user 1000 runs as 1000 with no capabilities; uid 0 keeps the container's set",
          arguments: [("1000", "none"), ("1000", "docker"), ("0", "none"), ("0", "docker"), ("1000:1000", "SETUID")])
    func userWithoutSetuid(user: String, caps: String) throws {
        try withRootfs { rootfs in
            let set: CapabilitySet = switch caps {
            case "none": try CapabilitySet.docker.adjusted(adding: [], dropping: ["ALL"])
            case "docker": .docker
            default: try CapabilitySet.docker.adjusted(adding: [], dropping: [caps])
            }
            var spec = ContainerSpec(command: ["sh", "-c", "id -u; id -g; cat /proc/self/status"], rootfs: rootfs.path,
                                     confinement: Confinement(capabilities: set))
            spec.user = user
            try spec.validate()
            let seen = try self.status(spec)
            let parts = user.split(separator: ":").map(String.init)
            // No /etc/passwd in this rootfs: a bare uid gets gid 0, as in Docker.
            let (uid, gid) = (parts[0], parts.count > 1 ? parts[1] : "0")
            #expect(Array(seen.lines.prefix(2)) == [uid, gid], "\(seen.lines.prefix(2))")
            #expect(seen.seccomp == "2")
            #expect(seen.capBnd == hex(set))
            let held = uid == "0" ? hex(set) : hex(.none)
            #expect(seen.capEff == held && seen.capPrm == held, "uid \(uid), \(caps): CapEff \(seen.capEff ?? "-"), CapPrm \(seen.capPrm ?? "-")")
        }
    }

    @Test("unshare -U fails with EPERM under the default profile and works unconfined or with CAP_SYS_ADMIN")
    func unshareUser() throws {
        try withRootfs { rootfs in
            try rootfs.addApplets(["unshare"])
            let command = ["unshare", "-U", "true"]
            let refused = try run(ContainerSpec(command: command, rootfs: rootfs.path))
            #expect(refused.status == .exited(1))
            #expect(refused.errors.contains("Operation not permitted"), "\(refused.errors)")

            let unconfined = try run(ContainerSpec(command: command, rootfs: rootfs.path, confinement: Confinement(seccomp: nil)))
            #expect(unconfined.status == .exited(0), "\(unconfined.errors)")

            // The profile opens unshare to a container holding CAP_SYS_ADMIN, as Docker's does.
            let admin = Confinement(capabilities: try CapabilitySet.docker.adjusted(adding: ["SYS_ADMIN"], dropping: []))
            let allowed = try run(ContainerSpec(command: command, rootfs: rootfs.path, confinement: admin))
            #expect(allowed.status == .exited(0), "\(allowed.errors)")
        }
    }

    @Test("--cap-drop NET_RAW makes ping fail inside; with Docker's set it works")
    func pingNeedsNetRaw() throws {
        try withRootfs { rootfs in
            try rootfs.addApplets(["ping"])
            func ping(_ confinement: Confinement) throws -> (status: ContainerExit, output: String, errors: String) {
                let spec = ContainerSpec(command: ["ping", "-c", "1", "-W", "2", "127.0.0.1"], rootfs: rootfs.path, confinement: confinement)
                return try Captured(spec) { process in
                    // lo is down in a new network namespace; root inside has no CAP_NET_ADMIN.
                    try RouteNetlink(namespace: process.networkNamespace()).apply { changes throws(BerthError) in
                        try changes.setUp(.index(1))
                    }
                }.finish()
            }
            let standard = try ping(Confinement())
            #expect(standard.status == .exited(0), "\(standard.errors)")
            #expect(standard.output.contains("1 packets received"), "\(standard.output)")

            let dropped = try ping(Confinement(capabilities: try CapabilitySet.docker.adjusted(adding: [], dropping: ["NET_RAW"])))
            #expect(dropped.status != .exited(0))
            #expect(dropped.errors.contains("permission denied") || dropped.errors.contains("Operation not permitted"), "\(dropped.errors)")
        }
    }

    @Test("berth exec runs under the container's confinement and joins its cgroup", .enabled(if: CgroupSupport.available))
    func execConfined() throws {
        let cgroups = try TestCgroups()
        defer { try? cgroups.finish() }
        try withRootfs { rootfs in
            try rootfs.addApplets(["unshare"])
            let cgroup = try cgroups.manager.create(id: "exec", limits: ResourceLimits(pids: 50))
            let container = try Captured(ContainerSpec(command: ["sh", "-c", "echo up; exec sleep 1000"], rootfs: rootfs.path), cgroup: cgroup)
            _ = container.waitFor("up")
            defer {
                try? container.process.signal(SIGKILL)
                _ = try? container.finish()
                try? cgroups.manager.remove(cgroup)
            }
            func exec(_ command: [String], confinement: Confinement = Confinement()) throws -> (ContainerExit, String, String) {
                let out = try OutputPipe(), err = try OutputPipe()
                let process = try ContainerProcess.enter(pid: container.process.pid, command: command, stdout: out.write, stderr: err.write,
                                                         confinement: confinement, cgroup: cgroup)
                out.closeWrite()
                err.closeWrite()
                let output = out.readAll(), errors = err.readAll()
                return (try process.wait(), output, errors)
            }
            let (status, output, _) = try exec(["sh", "-c", "grep -E 'Seccomp|CapEff' /proc/self/status; cat /proc/self/cgroup"])
            #expect(status == .exited(0))
            #expect(output.contains("Seccomp:\t2") && output.contains(hex(.docker)), "\(output)")
            #expect(output.contains("/\(cgroups.manager.parent)/exec\n"), "\(output)")
            let (refused, _, errors) = try exec(["unshare", "-U", "true"])
            #expect(refused == .exited(1) && errors.contains("Operation not permitted"), "\(errors)")
        }
    }
}
