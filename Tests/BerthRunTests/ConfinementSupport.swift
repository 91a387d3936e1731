@testable import BerthConfine
import BerthCore
import BerthRun
import BerthTestSupport
import Foundation

extension BusyboxRootfs {
    /// Adds applet links the confinement tests need beyond the common ones.
    func addApplets(_ applets: [String]) throws {
        for applet in applets where !FileManager.default.fileExists(atPath: path + "/bin/" + applet) {
            try FileManager.default.createSymbolicLink(atPath: path + "/bin/" + applet, withDestinationPath: "busybox")
        }
    }
}

/// A cgroup manager over the host's real tree, under a parent of one test's own
/// (`berth-test-PIDxN`), so tests never meet the cgroups of a real Berth or of each other
/// (they run in parallel). `finish()` removes whatever is left and the parent.
final class TestCgroups: @unchecked Sendable {
    let manager: CgroupManager

    init() throws {
        manager = try CgroupManager(parent: "berth-test-\(KernelTests.uniqueSuffix())")
    }

    /// Removes every container cgroup left under the test parent, then the parent itself.
    func finish() throws {
        try manager.removeOrphans(keeping: [])
        for directory in manager.parentDirectories where FileManager.default.fileExists(atPath: directory) {
            _ = rmdir(directory)
        }
    }

    /// Whether any directory of the cgroup still exists.
    func exists(_ cgroup: ContainerCgroup) -> Bool {
        cgroup.paths.contains { FileManager.default.fileExists(atPath: $0) }
    }
}

/// The host has the v1 or v2 controllers the limit tests need, as the tests' own probe of
/// /sys/fs/cgroup sees them (not `CgroupHierarchy.detect()`, which they test: a detection
/// that broke would skip them instead of failing).
enum CgroupSupport {
    static var available: Bool { KernelTests.allowed && CgroupProbe.usable }
}

/// A contained process with its stdout and stderr captured.
final class Captured {
    let process: ContainerProcess
    private let out: OutputPipe
    private let err: OutputPipe
    var outputDescriptor: Int32 { out.read }

    /// Spawns `spec` (joining `cgroup`), runs `beforeStart` while it is held, then starts it.
    init(_ spec: ContainerSpec, cgroup: ContainerCgroup? = nil, beforeStart: (ContainerProcess) throws -> Void = { _ in }) throws {
        out = try OutputPipe()
        err = try OutputPipe()
        var spec = spec
        spec.stdout = out.write
        spec.stderr = err.write
        process = try ContainerProcess.spawn(spec, cgroup: cgroup)
        out.closeWrite()
        err.closeWrite()
        do {
            try beforeStart(process)
            try process.start()
        } catch {
            process.abort()
            throw error
        }
    }

    /// Waits for the end; returns the status and everything printed.
    func finish() throws -> (status: ContainerExit, output: String, errors: String) {
        let output = out.readAll()
        let errors = err.readAll()
        return (try process.wait(), output, errors)
    }
}

extension Captured {
    /// Reads stdout until `marker` appears (or EOF); returns what was read. For a container
    /// that must reach a point before the test looks at it.
    func waitFor(_ marker: String) -> String {
        var text = ""
        var byte: UInt8 = 0
        while !text.contains(marker) {
            let n = Foundation.read(outputDescriptor, &byte, 1)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            text.append(Character(UnicodeScalar(byte)))
        }
        return text
    }
}
