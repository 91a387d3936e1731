import BerthCore
@testable import BerthCNI
import Foundation
import Testing

@Suite("berth-cni without a kernel: VERSION, version matrix, environment errors")
struct CNIPluginTests {
    @Test("VERSION lists every version; its cniVersion is the request's whenever that reads as a version (the spec's \"the value of cniVersion specified on input\"), else the latest", arguments: [
        ("", "1.1.0"), (#"{"cniVersion":"0.3.1"}"#, "0.3.1"), (#"{"cniVersion":"1.0.0"}"#, "1.0.0"), (#"{"cniVersion":"0.2.0"}"#, "0.2.0"),
        (#"{"cniVersion":"2.0.0"}"#, "2.0.0"), (#"{"cniVersion":"1.0"}"#, "1.1.0"), (#"{"cniVersion":7}"#, "1.1.0"), (#"{}"#, "1.1.0"), ("garbage", "1.1.0"),
    ])
    func version(stdin: String, echoed: String) {
        let response = CNIPlugin.run(environment: ["CNI_COMMAND": "VERSION"], stdin: Array(stdin.utf8))
        #expect(response.exitCode == 0)
        #expect(response.output == #"{"cniVersion":"\#(echoed)","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}"#)
    }

    @Test("errors speak the configuration's version when it is one Berth speaks")
    func errorVersion() {
        let response = CNIPlugin.run(environment: ["CNI_COMMAND": "ADD"], stdin: Array(#"{"cniVersion":"0.4.0","name":"n"}"#.utf8))
        #expect(response.exitCode == 1)
        #expect(response.output == #"{"cniVersion":"0.4.0","code":4,"msg":"CNI_CONTAINERID is not set","details":"the runtime must name the container"}"#)
    }

    @Test("commands newer than the configuration's version are code 1", arguments: [
        ("CHECK", "0.3.1", "0.4.0"), ("GC", "1.0.0", "1.1.0"), ("STATUS", "0.4.0", "1.1.0"),
    ])
    func versionMatrix(command: String, version: String, since: String) throws {
        let env = ["CNI_COMMAND": command, "CNI_CONTAINERID": "c", "CNI_NETNS": "/n", "CNI_IFNAME": "eth0"]
        let stdin = #"{"cniVersion":"\#(version)","name":"n","prevResult":{},"cni.dev/valid-attachments":[],"stateDir":"/nonexistent/berth"}"#
        let response = CNIPlugin.run(environment: env, stdin: Array(stdin.utf8))
        #expect(response.exitCode == 1)
        let answer = try JSONValue(parsing: response.output)
        #expect(answer["code"] == .integer(1))
        #expect(answer["msg"]?.stringValue == "\(command) is not part of CNI \(version)")
        #expect(answer["details"]?.stringValue == "\(command) needs cniVersion \(since) or later")
    }

    @Test("ADD refuses a CNI_NETNS that is relative, missing or a regular file with code 4, before any state is touched", arguments: [
        ("netns-x", "is not an absolute path"), ("/run/netns/berth-cni-test-missing", "does not exist"), ("/etc/hostname", "is not a network namespace"),
    ])
    func badNamespace(netns: String, words: String) throws {
        let env = ["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c", "CNI_NETNS": netns, "CNI_IFNAME": "eth0"]
        let stdin = #"{"cniVersion":"1.0.0","name":"n","stateDir":"/nonexistent/berth-cni-test"}"#
        let response = CNIPlugin.run(environment: env, stdin: Array(stdin.utf8))
        let answer = try JSONValue(parsing: response.output)
        #expect(answer["code"] == .integer(4))
        #expect(answer["msg"]?.stringValue?.contains(words) == true, "\(response.output)")
    }

    @Test("a logFile holding U+0000 is code 7, and no file at the path cut short at it is written (DEL too)", arguments: ["ADD", "DEL"])
    func nulLogFile(command: String) throws {
        let cut = NSTemporaryDirectory() + "berth-cni-nul-\(getpid())-\(command)"
        defer { try? FileManager.default.removeItem(atPath: cut) }
        let env = ["CNI_COMMAND": command, "CNI_CONTAINERID": "c", "CNI_NETNS": "/run/netns/berth-cni-test-missing", "CNI_IFNAME": "eth0"]
        let stdin = #"{"cniVersion":"1.0.0","name":"n","stateDir":"/nonexistent/berth-cni-test","logFile":"\#(cut)\u0000.log"}"#
        let response = CNIPlugin.run(environment: env, stdin: Array(stdin.utf8))
        let answer = try JSONValue(parsing: response.output)
        #expect(answer["code"] == .integer(7), "\(response.output)")
        #expect(answer["msg"]?.stringValue == #""logFile" in the network configuration holds U+0000"#, "\(response.output)")
        #expect(!FileManager.default.fileExists(atPath: cut))
    }

    @Test("a relative logFile is code 7 naming it (DEL, lenient, logs to stderr instead), and no file is made in the working directory", arguments: ["ADD", "DEL"])
    func relativeLogFile(command: String) throws {
        let name = "berth-cni-relative-\(getpid())-\(command).log"
        let inWorkingDirectory = FileManager.default.currentDirectoryPath + "/" + name
        // DEL goes on to open a state: one of its own, removed afterwards.
        let state = NSTemporaryDirectory() + "berth-cni-relative-state-\(getpid())-\(command)"
        defer {
            try? FileManager.default.removeItem(atPath: inWorkingDirectory)
            try? FileManager.default.removeItem(atPath: state)
        }
        let env = ["CNI_COMMAND": command, "CNI_CONTAINERID": "c", "CNI_NETNS": "/run/netns/berth-cni-test-missing", "CNI_IFNAME": "eth0"]
        let stdin = #"{"cniVersion":"1.0.0","name":"n","stateDir":"\#(state)","logFile":"\#(name)"}"#
        let response = CNIPlugin.run(environment: env, stdin: Array(stdin.utf8))
        let answer = (try? JSONValue(parsing: response.output)) ?? .object([])
        if command == "DEL" {
            #expect(answer["msg"]?.stringValue?.contains("logFile") != true, "\(response.output)")
        } else {
            #expect(answer["code"] == .integer(7), "\(response.output)")
            #expect(answer["msg"]?.stringValue == "\"logFile\": \(name) is not an absolute path", "\(response.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: inWorkingDirectory))
    }

    @Test("ADD refuses the plugin's own namespace with code 4")
    func ownNamespace() throws {
        let env = ["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c", "CNI_NETNS": "/proc/self/ns/net", "CNI_IFNAME": "eth0"]
        let response = CNIPlugin.run(environment: env, stdin: Array(#"{"cniVersion":"1.0.0","name":"n","stateDir":"/nonexistent/x"}"#.utf8))
        let answer = try JSONValue(parsing: response.output)
        #expect(answer["code"] == .integer(4))
        #expect(answer["msg"]?.stringValue == "CNI_NETNS /proc/self/ns/net is the plugin's own network namespace")
    }
}
