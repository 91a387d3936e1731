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

    @Test("an id another container holds: the advice names the detach of that very id")
    func heldID() {
        let held = BerthError(.alreadyExists, "endpoint web is attached to network namespace /proc/7/ns/net, which is alive and wired",
                              object: .endpoint("web"), operation: .attach, remedy: .chooseAnother(parameter: "id"))
        let text = HookMessages.describe(held, stage: .createRuntime, container: "web")
        #expect(text.hasSuffix("as when its runtime died before poststop, 'berth detach web' frees the id))"), "\(text)")
        #expect(!text.contains("detach ID"))
    }

    @Test("a name or alias another endpoint holds: the advice names berth.name or berth.aliases")
    func nameClash() {
        let name = BerthError(.conflict, "name web on network \"front\" is already held by endpoint c1", hint: "choose another name",
                              object: .endpoint("c1"), parameter: "name", remedy: .chooseAnother(parameter: "name"))
        #expect(HookMessages.describe(name, stage: .createRuntime, container: "c2")
                == "berth-oci-hook: createRuntime: container c2: name web on network \"front\" is already held by endpoint c1 (choose another value in annotation berth.name)")
        let alias = BerthError(.conflict, "alias db on network \"front\" is the name of endpoint c1", hint: "choose another alias",
                               object: .endpoint("c1"), parameter: "alias", remedy: .chooseAnother(parameter: "alias"))
        #expect(HookMessages.describe(alias, stage: .createRuntime, container: "c2").hasSuffix("(choose another value in annotation berth.aliases)"))
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

    @Test("a container sharing the host's namespace gets the whole fix on its line: --network none or a network entry in linux.namespaces")
    func sharedNamespaceAdvice() throws {
        let root = NSTemporaryDirectory() + "berth-hook-shared-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try #"{"linux":{"namespaces":[{"type":"pid"},{"type":"mount"}]}}"#.write(toFile: root + "/config.json", atomically: true, encoding: .utf8)
        let state = #"{"ociVersion":"1.0.2","id":"hostnet","status":"creating","pid":4242,"bundle":"\#(root)"}"#
        let error = try #require(throws: BerthError.self) {
            _ = try OCIHook(stateDirectory: root + "/never").run(.createRuntime, state: Array(state.utf8))
        }
        #expect(HookMessages.describe(error, stage: .createRuntime, container: "hostnet")
                == #"berth-oci-hook: createRuntime: container hostnet has no network namespace of its own (config.json's linux.namespaces has no "network" entry), so it shares the host's, which Berth never wires (run the container with --network none (docker, podman) or give it a network entry in linux.namespaces)"#)
        #expect(!FileManager.default.fileExists(atPath: root + "/never"))
    }

    @Test("a namespace that is gone says config.json's path or the container's process is gone, not to choose another")
    func namespaceGone() {
        let gone = BerthError(.notFound, "network namespace /run/netns/web does not exist", object: .namespace("/run/netns/web"), remedy: .listExisting(.namespace))
        #expect(HookMessages.describe(gone, stage: .createRuntime, container: "c1")
                == "berth-oci-hook: createRuntime: container c1: network namespace /run/netns/web does not exist (the network namespace path in config.json's linux.namespaces, or the container's process, is gone)")
    }

    @Test("a relative namespace path in config.json is refused before Berth's state is opened, with advice to make it absolute")
    func relativeNamespacePath() throws {
        let root = NSTemporaryDirectory() + "berth-hook-relative-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try #"{"linux":{"namespaces":[{"type":"network","path":"netns"}]}}"#.write(toFile: root + "/config.json", atomically: true, encoding: .utf8)
        let state = #"{"ociVersion":"1.0.2","id":"ctr-x","status":"creating","pid":4242,"bundle":"\#(root)"}"#
        let error = try #require(throws: BerthError.self) {
            _ = try OCIHook(stateDirectory: root + "/never").run(.createRuntime, state: Array(state.utf8))
        }
        #expect(HookMessages.describe(error, stage: .createRuntime, container: "ctr-x")
                == #"berth-oci-hook: createRuntime: container ctr-x: \#(root)/config.json: the network namespace's "path" netns in linux.namespaces is not absolute (the OCI runtime spec requires an absolute path) (give the network entry of linux.namespaces an absolute path, such as /run/netns/NAME)"#)
        #expect(!FileManager.default.fileExists(atPath: root + "/never"))
    }

    @Test("the hook registered as docker's runtime by its own name: runc's arguments get advice to register berth-oci-runtime instead")
    func hookRegisteredAsRuntime() {
        let arguments = ["--root", "/var/run/docker/runtime-runc/moby", "--log", "/run/x/log.json", "--log-format", "json", "create", "--bundle", "/b", "c1"]
        #expect(HookRole.runtimeMisregistered(arguments, program: "/usr/local/bin/berth-oci-hook")
                == "berth-oci-hook: called with runc's arguments (--root /var/run/docker/runtime-runc/moby --log /run/x/log.json …): berth-oci-hook itself is registered as a runtime, "
                + "which must be the runc wrapper berth-oci-runtime ('berth hook install' links it beside the hook): register berth=/usr/local/bin/berth-oci-runtime with dockerd's --add-runtime or \"runtimes\" in daemon.json")
        for runc in [["create", "c1"], ["delete", "c1"], ["state", "c1"], ["--version"], ["-root=/r", "kill", "c1", "9"]] {
            #expect(HookRole.runtimeMisregistered(runc, program: "berth-oci-hook")?.hasSuffix("register berth=berth-oci-runtime with dockerd's --add-runtime or \"runtimes\" in daemon.json") == true,
                    "\(runc)")
        }
        for hook in [["createRuntime"], ["poststop", "--state-dir", "/s"], ["--state-dir=/s", "poststop"], ["--help"], ["-h"], ["help"], ["prestar"], ["--frobnicate"], []] {
            #expect(HookRole.runtimeMisregistered(hook, program: "berth-oci-hook") == nil, "\(hook)")
        }
    }

    @Test("berth-oci-hook run with runc's arguments exits 2 with that advice, not \"unknown option --root\"",
          .enabled(if: FileManager.default.isExecutableFile(atPath: Harness.hookBinary)))
    func hookBinaryAsRuntime() {
        let run = Command.run([Harness.hookBinary, "--root", "/run/x", "create", "--bundle", "/b", "c1"], input: "")
        let directory = URL(fileURLWithPath: Harness.hookBinary).deletingLastPathComponent().path
        #expect(run.status == 2, "\(run)")
        #expect(run.stderr == "berth-oci-hook: called with runc's arguments (--root /run/x create --bundle …): berth-oci-hook itself is registered as a runtime, "
                + "which must be the runc wrapper berth-oci-runtime ('berth hook install' links it beside the hook): register berth=\(directory)/berth-oci-runtime with dockerd's --add-runtime or \"runtimes\" in daemon.json\n",
                "\(run)")
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
