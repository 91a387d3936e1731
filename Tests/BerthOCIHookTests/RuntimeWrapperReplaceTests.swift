import BerthCore
@testable import BerthOCIHook
import Foundation
import Testing

/// The wrapper writes config.json back through `config.json.berth-PID` and a rename. A
/// wrapper killed between the two leaves that file; a later wrapper that gets the same pid
/// must not fail its create on it.
@Suite("docker runtime wrapper: writing config.json back")
struct RuntimeWrapperReplaceTests {
    static func scratch() throws -> String {
        let root = NSTemporaryDirectory() + "berth-hook-replace-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try "old".write(toFile: root + "/config.json", atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: root + "/config.json")
        return root
    }

    @Test("a stale temporary file of this pid is replaced, not an error; the file keeps its mode")
    func staleTemporary() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let temporary = root + "/config.json.berth-\(getpid())"
        try "half a file".write(toFile: temporary, atomically: false, encoding: .utf8)
        try RuntimeWrapper.replace(root + "/config.json", with: #"{"new":true}"#)
        #expect(try String(contentsOfFile: root + "/config.json", encoding: .utf8) == "{\"new\":true}\n")
        #expect((try FileManager.default.attributesOfItem(atPath: root + "/config.json")[.posixPermissions] as? Int) == 0o640)
        #expect(!FileManager.default.fileExists(atPath: temporary))
    }

    @Test("a link left at the temporary path is removed, never followed: its target is untouched")
    func linkAtTemporary() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try "victim".write(toFile: root + "/victim", atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: root + "/config.json.berth-\(getpid())", withDestinationPath: root + "/victim")
        try RuntimeWrapper.replace(root + "/config.json", with: "{}")
        #expect(try String(contentsOfFile: root + "/config.json", encoding: .utf8) == "{}\n")
        #expect(try String(contentsOfFile: root + "/victim", encoding: .utf8) == "victim")
    }
}
