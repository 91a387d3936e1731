import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// What berth-cni makes of a delegated IPAM plugin's answer (through the fake plugin of
/// CNIIPAMForwardingKernelTests): its error codes.
@Suite("berth-cni: a delegated IPAM plugin's error codes and DNS (kernel)", .enabled(if: try KernelTests.enabled))
struct CNIIPAMAnswerKernelTests {
    private func setUp(_ sandbox: HostSandbox, add: (String, Int)) throws -> (cni: CNIHarness, plugins: String) {
        let plugins = try CNIIPAMForwardingKernelTests.pluginDirectory(sandbox)
        try CNIIPAMForwardingKernelTests.fakePlugin("ipam-answer", in: plugins, versions: CNIIPAMForwardingKernelTests.newVersions,
                                                    answers: ["ADD": add, "DEL": ("", 0), "CHECK": ("", 0)])
        return (CNIHarness(sandbox: sandbox), plugins)
    }

    @Test("a spec-defined code (1 to 99) is passed on; a plugin's own (100 and up), 0 or a negative one is 111 naming it in details, since Berth's 100+ codes mean other things",
          arguments: [(7, 7), (11, 11), (99, 99), (100, 111), (110, 111), (250, 111), (0, 111), (-3, 111)])
    func codes(code: Int, passed: Int) throws {
        try withHostSandbox { sandbox in
            let (cni, plugins) = try setUp(sandbox, add: (#"{"cniVersion":"1.1.0","code":\#(code),"msg":"no addresses left"}"#, 1))
            let add = cni.run("ADD", cni.config("k8s", extra: #""ipam":{"type":"ipam-answer"}"#), containerID: "pod1",
                              netns: try sandbox.makeNamespace().path, path: plugins)
            #expect(add.status == 1 && add.code == Int64(passed), "\(add)")
            #expect(add.message.contains("no addresses left"), "\(add)")
            if passed == 111 {
                #expect(add.json?["details"]?.stringValue?.contains("IPAM plugin code \(code): no addresses left") == true, "\(add)")
            }
            #expect(cni.hostVeths().isEmpty)
        }
    }
}
