import BerthCore
import BerthOCIHook
import BerthTestSupport
import Foundation
import Testing

@Suite("hook error wording")
struct HookMessagesTests {
    @Test("stage, container and message come first; remedies are worded in the hook's terms")
    func remedies() {
        let conflict = BerthError(.conflict, "port 0.0.0.0:8080/tcp is already published by endpoint first", object: .container("second"),
                                  parameter: "ports", remedy: .chooseAnother(parameter: "ports"))
        #expect(HookMessages.describe(conflict, stage: .createRuntime)
                == "berth-oci-hook: createRuntime: container second: port 0.0.0.0:8080/tcp is already published by endpoint first (choose another value in annotation berth.publish)")
        let network = BerthError(.notFound, "no network named \"web\"", object: .network("web"), remedy: .listExisting(.network))
        #expect(HookMessages.describe(network, stage: .createRuntime).hasSuffix(
            "(create that network first, or leave annotation berth.network out for the default network)"))
        let privilege = BerthError(.permissionDenied, "cannot create veth", remedy: .privilege("CAP_NET_ADMIN"))
        #expect(HookMessages.describe(privilege, stage: nil) == "berth-oci-hook: cannot create veth (the runtime must run the hook as root or with CAP_NET_ADMIN)")
        let endpoint = BerthError(.conflict, "in use", object: .port("tcp 0.0.0.0:80"), remedy: .remove(.endpoint("c9")))
        #expect(HookMessages.describe(endpoint, stage: .createRuntime, container: "c8")
                == "berth-oci-hook: createRuntime: container c8: in use (delete container c9 first, or detach its endpoint (id c9))")
    }

    @Test("a library hint naming a CLI flag is replaced by advice that fits a hook")
    func flagHints() {
        let clash = BerthError(.alreadyExists, "host veth vb0 of endpoint c1 already exists", hint: "run 'berth gc' to remove leftovers")
        #expect(HookMessages.describe(clash, stage: .createRuntime)
                == "berth-oci-hook: createRuntime: host veth vb0 of endpoint c1 already exists (leftovers of a crash are in the way: the next poststop for that container, or Berth's garbage collection in the host's network namespace, removes them)")
        let address = BerthError(.invalidArgument, "10.1.0.9 is outside 10.88.0.0/16", hint: "choose another --ip", parameter: "address")
        #expect(HookMessages.describe(address, stage: nil) == "berth-oci-hook: 10.1.0.9 is outside 10.88.0.0/16 (fix annotation berth.ip)")
        let plain = BerthError(.conflict, "port in use by nginx", hint: "choose another host port, or stop that process")
        #expect(HookMessages.describe(plain, stage: nil).hasSuffix("(choose another host port, or stop that process)"))
    }

    @Test("eth0 already in the container's namespace: the advice names the cause and --network none, not an interface name no annotation sets")
    func interfaceClash() {
        let clash = BerthError(.alreadyExists, "interface eth0 already exists in network namespace /proc/42/ns/net", hint: "choose another interface name",
                               object: .link("eth0"), remedy: .chooseAnother(parameter: "interfaceName"))
        let wrapped = clash.with(object: .container("c1"))
        #expect(wrapped.code == .alreadyExists && wrapped.object == .link("eth0"))
        #expect(HookMessages.describe(wrapped, stage: .createRuntime, container: "c1")
                == "berth-oci-hook: createRuntime: container c1: interface eth0 already exists in network namespace /proc/42/ns/net (the container's network namespace has an eth0 already, so it is not a namespace of its own with no other network: run the container with --network none, not with docker's --network container:NAME or as a second annotated container of a podman pod)")
    }

    @Test("the usage names every annotation the hook reads", .enabled(if: FileManager.default.isExecutableFile(atPath: Harness.hookBinary)))
    func usageNamesAnnotations() {
        let help = Command.run([Harness.hookBinary, "--help"])
        #expect(help.succeeded, "\(help)")
        for annotation in HookAnnotations.all {
            #expect(help.stdout.contains(annotation + ",") || help.stdout.contains(annotation + " ") || help.stdout.contains(annotation + "\n"),
                    "usage lacks \(annotation): \(help.stdout)")
        }
    }

    @Test("a bad state says a runtime must send it")
    func stateErrors() throws {
        let error = try #require(throws: BerthError.self) { _ = try OCIState(parsing: Array("{}".utf8)) }
        #expect(HookMessages.describe(error, stage: .poststop)
                == #"berth-oci-hook: poststop: the container state has no "id" (an OCI runtime writes the container's state to the hook's stdin: run berth-oci-hook from a runtime's hooks)"#)
    }
}
