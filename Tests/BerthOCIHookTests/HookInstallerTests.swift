import BerthCore
import BerthOCIHook
import Foundation
import Testing

@Suite("berth hook install's files")
struct HookInstallerTests {
    @Test("writes the hooks.d files and the wrapper link, and a rerun replaces them")
    func install() throws {
        let root = NSTemporaryDirectory() + "berth-hook-install-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let installer = HookInstaller(hookPath: "/bin/true", hooksDirectory: root + "/etc/hooks.d", wrapperPath: root + "/bin/berth-oci-runtime",
                                      stateDirectory: "/srv/berth")
        for _ in 0..<2 {
            let installed = try installer.install()
            #expect(installed.files == [root + "/etc/hooks.d/50-berth-createRuntime.json", root + "/etc/hooks.d/50-berth-poststop.json"])
            #expect(installed.wrapper == root + "/bin/berth-oci-runtime")
        }
        let created = try JSONValue(parsing: String(contentsOfFile: root + "/etc/hooks.d/50-berth-createRuntime.json", encoding: .utf8))
        #expect(created["hook"]?["path"] == "/bin/true")
        #expect(created["hook"]?["env"] == ["BERTH_STATE_DIR=/srv/berth"])
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/bin/berth-oci-runtime") == "/bin/true")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/etc/hooks.d").sorted() == ["50-berth-createRuntime.json", "50-berth-poststop.json"])
    }

    @Test("refuses relative paths, a missing hook and a wrapper path holding a file, writing nothing")
    func refusals() throws {
        let root = NSTemporaryDirectory() + "berth-hook-install-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let relative = try #require(throws: BerthError.self) {
            _ = try HookInstaller(hookPath: "/bin/true", hooksDirectory: "hooks.d", wrapperPath: nil).install()
        }
        #expect(relative.code == .invalidArgument && relative.parameter == "hooksDirectory")
        let missing = try #require(throws: BerthError.self) {
            _ = try HookInstaller(hookPath: root + "/no-hook", hooksDirectory: root + "/h", wrapperPath: nil).install()
        }
        #expect(missing.code == .notFound && missing.parameter == "hookPath")
        try #require(FileManager.default.createFile(atPath: root + "/taken", contents: Data("x".utf8)))
        let taken = try #require(throws: BerthError.self) {
            _ = try HookInstaller(hookPath: "/bin/true", hooksDirectory: nil, wrapperPath: root + "/taken").install()
        }
        #expect(taken.code == .alreadyExists && taken.remedy == .remove(.file(root + "/taken")))
        #expect(try String(contentsOfFile: root + "/taken", encoding: .utf8) == "x")
        #expect(!FileManager.default.fileExists(atPath: root + "/h"))
    }
}
