import Foundation

/// The runtimes' real states and configs, copied from what runc, crun, podman and docker
/// handed a hook (see docs/oci-hook.md); read from the source tree, never from elsewhere.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))
    }

    static func text(_ name: String) throws -> String {
        String(decoding: try bytes(name), as: UTF8.self)
    }

    /// Every sample state a runtime wrote (for test arguments, which cannot throw: the
    /// throwing form is `stateNames()`, whose count a test pins).
    static var states: [String] {
        (try? stateNames()) ?? []
    }

    static func stateNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".state.json") }.sorted()
    }
}
