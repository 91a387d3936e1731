import BerthCore
import Foundation

/// The runtime samples copied into Fixtures/ (what podman 4.3 and containerd 1.6 really
/// sent a CNI plugin on this machine kind).
enum Fixture {
    static func bytes(_ name: String) throws -> [UInt8] {
        guard let url = Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil) else {
            throw FixtureError(description: "no fixture \(name)")
        }
        return Array(try Data(contentsOf: url))
    }

    static func json(_ name: String) throws -> JSONValue {
        try JSONValue(parsingUTF8: try bytes(name))
    }

    /// The `CNI_*` lines of an env sample, as a dictionary.
    static func environment(_ name: String) throws -> [String: String] {
        var env: [String: String] = [:]
        for line in String(decoding: try bytes(name), as: UTF8.self).split(separator: "\n") where line.hasPrefix("CNI_") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            env[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return env
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
}
