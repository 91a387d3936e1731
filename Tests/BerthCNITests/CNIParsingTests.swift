@testable import BerthCNI
import Foundation
import Testing

@Suite("CNI versions and CNI_PATH, parsed byte by byte")
struct CNIParsingTests {
    @Test("MAJOR.MINOR.PATCH of 1 to 4 digits each; anything else is nil", arguments: [
        ("1.0.0", CNIVersion(1, 0, 0)), ("0.3.1", CNIVersion(0, 3, 1)), ("01.2.3", CNIVersion(1, 2, 3)),
        ("9999.0.12", CNIVersion(9999, 0, 12)), ("1.0", nil), ("1.0.0.", nil), ("1..0", nil), (".1.0", nil),
        ("12345.0.0", nil), ("1.0.0-rc1", nil), ("a.b.c", nil), ("", nil), ("1.0.0 ", nil), ("１.0.0", nil),
    ] as [(String, CNIVersion?)])
    func version(text: String, expected: CNIVersion?) {
        #expect(CNIVersion(text) == expected)
    }

    @Test("isSupported is exactly the supported list")
    func supported() {
        for version in CNIVersion.supported {
            #expect(version.isSupported, "\(version)")
        }
        for version in [CNIVersion(0, 2, 0), CNIVersion(0, 3, 2), CNIVersion(1, 0, 1), CNIVersion(1, 2, 0), CNIVersion(2, 0, 0)] {
            #expect(!version.isSupported, "\(version)")
        }
    }

    @Test("CNI_PATH: directories in order, empty ones left out", arguments: [
        ("/opt/cni/bin", ["/opt/cni/bin"]), ("/a:/b", ["/a", "/b"]), ("::/a::/b:", ["/a", "/b"]), ("", []), (":", []),
        ("/é/ü:/x", ["/é/ü", "/x"]),
    ] as [(String, [String])])
    func path(text: String, expected: [String]) throws {
        #expect(CNIEnvironment.splitPath(text) == expected)
        let env = try CNIEnvironment(["CNI_COMMAND": "VERSION", "CNI_PATH": text])
        #expect(env.path == expected)
    }

    @Test("the environment as pairs: the last entry of a name wins; the dictionary keeps every name")
    func variables() {
        var variables = CNIVariables([("CNI_COMMAND", "ADD"), ("X", "1")])
        variables.append("CNI_COMMAND", "DEL")
        #expect(variables["CNI_COMMAND"] == "DEL")
        #expect(variables["Y"] == nil)
        #expect(variables.pairs.count == 3)
        #expect(variables.dictionary == ["CNI_COMMAND": "DEL", "X": "1"])
    }

    @Test("the process's environment: only CNI_* as pairs, every entry in the dictionary a delegated plugin gets")
    func processEnvironment() {
        let variables = CNIVariables.processEnvironment()
        let names = variables.pairs.map(\.0)
        #expect(names.filter { !$0.hasPrefix("CNI_") } == [])
        #expect(variables.dictionary == ProcessInfo.processInfo.environment)
    }
}
