import BerthCore
import BerthNetwork
import BerthOCIHook
import Foundation
import Testing

@Suite("docker runtime wrapper and installed files")
struct RuntimeWrapperTests {
    @Test("finds the command and bundle the way containerd's shim and people call runc")
    func parseArguments() {
        // containerd-shim-runc-v2, as dockerd 20.10 uses it.
        let shim = RuntimeWrapper.parse(["--root", "/var/run/docker/runtime-runc/moby", "--log", "/run/x/log.json", "--log-format", "json",
                                         "create", "--bundle", "/run/x/bundle", "--pid-file", "/run/x/init.pid", "c1"])
        #expect(shim.command == "create")
        #expect(shim.bundle == "/run/x/bundle")
        #expect(shim.createsContainer)
        #expect(RuntimeWrapper.parse(["--debug", "run", "-d", "-b", "/b", "c1"]).bundle == "/b")
        #expect(RuntimeWrapper.parse(["run", "--bundle=/b2", "c1"]).bundle == "/b2")
        #expect(RuntimeWrapper.parse(["create", "c1"]).bundle == nil)
        // A restore makes a container from the bundle's config.json too (docker start --checkpoint).
        let restore = RuntimeWrapper.parse(["--root", "/r", "restore", "--image-path", "/img", "--work-path", "/w", "--bundle", "/b3", "--detach", "c1"])
        #expect(restore.createsContainer && restore.bundle == "/b3")
        let delete = RuntimeWrapper.parse(["--root", "/r", "delete", "--force", "c1"])
        #expect(delete.command == "delete" && !delete.createsContainer)
        #expect(RuntimeWrapper.parse(["--version"]).command == nil)
    }

    @Test("reads runc's options as runc does: one dash or two, a value apart or after =; -bundle, --b and -b are the bundle")
    func parseGoFlagSyntax() throws {
        let single = RuntimeWrapper.parse(["-root", "/r", "create", "-bundle", "/b", "id"])
        #expect(single.command == "create" && single.bundle == "/b")
        let mixed = RuntimeWrapper.parse(["-log", "/l.json", "-log-format", "json", "-criu", "/usr/sbin/criu", "-rootless", "false",
                                          "--systemd-cgroup", "run", "--b", "/b2", "-d", "id"])
        #expect(mixed.command == "run" && mixed.bundle == "/b2")
        let inline = RuntimeWrapper.parse(["-root=/r", "--log=/l", "restore", "-bundle=/b3", "id"])
        #expect(inline.command == "restore" && inline.bundle == "/b3")
        #expect(RuntimeWrapper.parse(["create", "--b=/b4", "id"]).bundle == "/b4")
        #expect(RuntimeWrapper.parse(["create", "-b=/b5", "id"]).bundle == "/b5")
        #expect(RuntimeWrapper.parse(["create", "--pid-file", "/p", "--bundle", "/b6", "id"]).bundle == "/b6")
        // After the container id's "--", nothing is an option.
        #expect(RuntimeWrapper.parse(["create", "--", "-b", "/b7"]).bundle == nil)
        #expect(try RuntimeWrapper.invocation(["-root", "/r", "create", "-bundle", "/b", "id"]) == single)
        #expect(try RuntimeWrapper.invocation(["--version"]).command == nil)
        #expect(try RuntimeWrapper.invocation(["-root", "/r", "delete", "-force", "run"]).command == "delete")
    }

    @Test("a command line without a runc command that holds create, run or restore fails rather than passing through",
          arguments: [["--new-global-option", "value", "create", "--bundle", "/b", "id"], ["--root", "/r", "-future", "x", "run", "id"],
                      ["--criu", "--root", "/r", "create", "id"], ["value", "restore"]])
    func unknownCommandLine(arguments: [String]) throws {
        let error = try #require(throws: BerthError.self) { try RuntimeWrapper.invocation(arguments) }
        #expect(error.message.contains("cannot read runc's command line"), "\(error)")
        #expect(error.message.contains("a container may be made without the hooks it asks for"), "\(error)")
    }

    @Test("the hooks the wrapper adds carry a timeout above the state lock's wait, as golden JSON")
    func rewriteGolden() throws {
        let config = try JSONValue(parsing: #"{"process":{"env":["BERTH_PUBLISH=8080:80"]}}"#)
        let rewritten = try #require(try RuntimeWrapper.rewrite(config, hookPath: "/usr/local/bin/berth-oci-hook",
                                                                 hookEnvironment: ["BERTH_STATE_DIR=/s"]))
        #expect(rewritten.render() == #"{"process":{"env":["BERTH_PUBLISH=8080:80"]},"annotations":{"berth.publish":"8080:80"},"#
            + #""hooks":{"createRuntime":[{"path":"/usr/local/bin/berth-oci-hook","args":["berth-oci-hook","createRuntime"],"env":["BERTH_STATE_DIR=/s"],"timeout":40}],"#
            + #""poststop":[{"path":"/usr/local/bin/berth-oci-hook","args":["berth-oci-hook","poststop"],"env":["BERTH_STATE_DIR=/s"],"timeout":40}]}}"#)
        #expect(HookFiles.timeout == Int(StateStore.defaultLockTimeout.components.seconds) + 10)
    }

    @Test("a config through the wrapper again with another BERTH_STATE_DIR keeps one hook per stage, with the new environment")
    func rewriteAgainWithOtherEnvironment() throws {
        let config = try JSONValue(parsing: #"{"process":{"env":["BERTH_NETWORK=web"]},"hooks":{"poststop":[{"path":"/other","args":["x","poststop"]}]}}"#)
        let first = try #require(try RuntimeWrapper.rewrite(config, hookPath: "/h", hookEnvironment: ["BERTH_STATE_DIR=/one"]))
        let second = try #require(try RuntimeWrapper.rewrite(first, hookPath: "/h", hookEnvironment: ["BERTH_STATE_DIR=/two"]))
        for stage in [HookStage.createRuntime, .poststop] {
            let ours = second["hooks"]?[stage.rawValue]?.arrayValue?.filter { $0["path"] == "/h" } ?? []
            #expect(ours == [HookFiles.entry(hookPath: "/h", stage: stage, environment: ["BERTH_STATE_DIR=/two"])])
        }
        // The engine's own hook stays first, untouched.
        #expect(second["hooks"]?["poststop"]?[0] == ["path": "/other", "args": ["x", "poststop"]])
        #expect(second["hooks"]?["poststop"]?.arrayValue?.count == 2)
        // An entry of an older wrapper (no timeout), twice: one entry, replaced.
        let old: JSONValue = ["path": "/h", "args": ["berth-oci-hook", "createRuntime"], "env": []]
        let twice: JSONValue = ["process": ["env": ["BERTH_NETWORK=web"]], "hooks": ["createRuntime": [old, ["path": "/x"], old]]]
        let fixed = try #require(try RuntimeWrapper.rewrite(twice, hookPath: "/h", hookEnvironment: []))
        #expect(fixed["hooks"]?["createRuntime"] == [HookFiles.entry(hookPath: "/h", stage: .createRuntime, environment: []), ["path": "/x"]])
    }

    @Test("BERTH_* variables become annotations and the two hooks are appended after the engine's own")
    func rewrite() throws {
        let config = try JSONValue(parsing: """
            {"ociVersion":"1.0.2-dev","process":{"env":["PATH=/bin","BERTH_PUBLISH=8080:80","BERTH_NETWORK=web"]},
             "annotations":{"x":"y"},"hooks":{"prestart":[{"path":"/usr/bin/dockerd","args":["libnetwork-setkey"]}]}}
            """)
        let rewritten = try #require(try RuntimeWrapper.rewrite(config, hookPath: "/usr/local/bin/berth-oci-hook",
                                                                 hookEnvironment: ["BERTH_STATE_DIR=/s"]))
        #expect(rewritten["annotations"] == ["x": "y", "berth.network": "web", "berth.publish": "8080:80"])
        #expect(rewritten["hooks"]?["prestart"] == config["hooks"]?["prestart"])
        let hook: JSONValue = ["path": "/usr/local/bin/berth-oci-hook", "args": ["berth-oci-hook", "createRuntime"], "env": ["BERTH_STATE_DIR=/s"],
                               "timeout": 40]
        #expect(rewritten["hooks"]?["createRuntime"] == [hook])
        #expect(rewritten["hooks"]?["poststop"]?[0]?["args"] == ["berth-oci-hook", "poststop"])
        #expect(rewritten["process"] == config["process"])
        #expect(rewritten["ociVersion"] == "1.0.2-dev")
        // Through the wrapper twice (a restart): still one hook each.
        let again = try #require(try RuntimeWrapper.rewrite(rewritten, hookPath: "/usr/local/bin/berth-oci-hook", hookEnvironment: ["BERTH_STATE_DIR=/s"]))
        #expect(again == rewritten)
        // BERTH_IP6 alone asks for Berth too, and becomes berth.ip6.
        let six = try JSONValue(parsing: #"{"process":{"env":["BERTH_IP6=fd00:88::9"]}}"#)
        let withSix = try #require(try RuntimeWrapper.rewrite(six, hookPath: "/h", hookEnvironment: []))
        #expect(withSix["annotations"] == ["berth.ip6": "fd00:88::9"])
        // BERTH_NAME and BERTH_ALIASES: the container's names on the network's resolver.
        let named = try JSONValue(parsing: #"{"process":{"env":["BERTH_NAME=web","BERTH_ALIASES=www,api"]}}"#)
        let withNames = try #require(try RuntimeWrapper.rewrite(named, hookPath: "/h", hookEnvironment: []))
        #expect(withNames["annotations"] == ["berth.name": "web", "berth.aliases": "www,api"])
    }

    @Test("a container that asks nothing of Berth is left alone; an annotation beats a variable")
    func leftAlone() throws {
        let plain = try JSONValue(parsing: #"{"process":{"env":["PATH=/bin","BERTHA=1"]}}"#)
        #expect(try RuntimeWrapper.rewrite(plain, hookPath: "/h", hookEnvironment: []) == nil)
        let both = try JSONValue(parsing: #"{"process":{"env":["BERTH_IP=10.0.0.9"]},"annotations":{"berth.ip":"10.0.0.7"}}"#)
        #expect(try RuntimeWrapper.rewrite(both, hookPath: "/h", hookEnvironment: [])?["annotations"] == ["berth.ip": "10.0.0.7"])
        let annotated = try JSONValue(parsing: #"{"annotations":{"berth.network":"web"}}"#)
        #expect(try RuntimeWrapper.rewrite(annotated, hookPath: "/h", hookEnvironment: [])?["hooks"]?["createRuntime"]?[0]?["path"] == "/h")
    }

    @Test("a config.json the parser refuses fails the create when it asks for Berth; otherwise runc gets it untouched")
    func unparseable() throws {
        let bundle = NSTemporaryDirectory() + "berth-wrapper-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: bundle, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: bundle) }
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        let cases: [(text: String, asked: String?)] = [
            (#"{"process":{"env":["BERTH_PUBLISH=8080:80"]},"process":{"cwd":"/"}}"#, "BERTH_PUBLISH"),   // a repeated key
            (#"{"annotations":{"berth.network":"web"},"x":"# + deep + "}", "berth.network"),           // nesting beyond 512
            (#"{"process":{"env":["BERTH_IP=10.0.0.9"]},"pad":""# + String(repeating: "x", count: 5 << 20) + #""}"#, "BERTH_IP"), // over 4 MiB
            (#"{"process":{"env":["PATH=/bin","BERTHA=1"]},"process":{"cwd":"/"}}"#, nil),
        ]
        for (text, asked) in cases {
            try text.write(toFile: bundle + "/config.json", atomically: true, encoding: .utf8)
            if let asked {
                let error = try #require(throws: BerthError.self) { try RuntimeWrapper.addHooks(bundle: bundle) }
                #expect(error.message.contains("asks for Berth (\(asked))") && error.message.contains("the container was not created"), "\(error)")
                #expect(error.object == BerthError.Object(.file, bundle + "/config.json") && error.cause != nil)
            } else {
                try RuntimeWrapper.addHooks(bundle: bundle)
            }
            #expect(try String(contentsOfFile: bundle + "/config.json", encoding: .utf8) == text)
        }
        // Too large to search (a sparse file over 64 MiB): refused, untouched.
        let handle = try #require(FileHandle(forWritingAtPath: bundle + "/config.json"))
        try handle.truncate(atOffset: (64 << 20) + 1)
        try handle.close()
        let tooLarge = try #require(throws: BerthError.self) { try RuntimeWrapper.addHooks(bundle: bundle) }
        #expect(tooLarge.message.contains("larger than 64 MiB") && tooLarge.message.contains("the container was not created"), "\(tooLarge)")
        #expect(try FileManager.default.attributesOfItem(atPath: bundle + "/config.json")[.size] as? UInt64 == (64 << 20) + 1)
        // No config.json at all: runc's error is the one to show.
        try FileManager.default.removeItem(atPath: bundle + "/config.json")
        try RuntimeWrapper.addHooks(bundle: bundle)
    }

    @Test("integers of any size round-trip exactly: docker's unlimited rlimits (uint64 max), -1 and a big negative")
    func hugeIntegers() throws {
        let rlimits = #"[{"type":"RLIMIT_MEMLOCK","hard":18446744073709551615,"soft":18446744073709551615},{"type":"RLIMIT_NOFILE","hard":-1,"soft":-18446744073709551616}]"#
        let text = #"{"process":{"env":["BERTH_IP=10.0.0.9"],"rlimits":"# + rlimits + #"},"linux":{"resources":{"memory":{"limit":9223372036854775807,"swap":-9223372036854775808},"cpu":{"quota":1.5}}}}"#
        let config = try JSONValue(parsing: text)
        let rewritten = try #require(try RuntimeWrapper.rewrite(config, hookPath: "/h", hookEnvironment: []))
        let rendered = rewritten.render()
        #expect(rendered.contains(rlimits), "\(rendered)")
        #expect(rendered.contains(#""memory":{"limit":9223372036854775807,"swap":-9223372036854775808}"#), "\(rendered)")
        #expect(rewritten["linux"] == config["linux"])
        // Parsed again, the same values.
        #expect(try JSONValue(parsing: rendered)["process"]?["rlimits"] == config["process"]?["rlimits"])
    }

    @Test("an empty --bundle=, -b= or -b \"\" is the working directory, as runc takes it, not /")
    func emptyBundle() {
        #expect(RuntimeWrapper.parse(["create", "--bundle=", "c1"]).bundle == nil)
        #expect(RuntimeWrapper.parse(["run", "-b=", "c1"]).bundle == nil)
        #expect(RuntimeWrapper.parse(["create", "-b", "", "c1"]).bundle == nil)
        #expect(RuntimeWrapper.parse(["create", "-b", "/b", "c1"]).bundle == "/b")
    }

    @Test("the hooks.d file berth hook install writes, as golden text: a timeout above the state lock's wait")
    func podmanFileGolden() {
        let file = HookFiles.podman(hookPath: "/usr/local/bin/berth-oci-hook", environment: ["BERTH_STATE_DIR=/s"])[1]
        #expect(file.name == "50-berth-poststop.json")
        #expect(file.contents == #"""
            {
              "version": "1.0.0",
              "hook": {
                "path": "/usr/local/bin/berth-oci-hook",
                "args": [
                  "berth-oci-hook",
                  "poststop"
                ],
                "env": [
                  "BERTH_STATE_DIR=/s"
                ],
                "timeout": 40
              },
              "when": {
                "annotations": {
                  "^berth\\.(network|publish|ip|ip6|mac)$": ".*"
                }
              },
              "stages": [
                "poststop"
              ]
            }

            """#)
    }

    @Test("the podman hooks.d files have the shape podman read in the sample, one per stage")
    func podmanFiles() throws {
        let sample = try JSONValue(parsing: try Fixtures.text("podman-hooks.d-50-berth-createRuntime.json"))
        let files = HookFiles.podman(hookPath: "/usr/local/bin/berth-oci-hook", environment: ["BERTH_STATE_DIR=/s"])
        #expect(files.map(\.name) == ["50-berth-createRuntime.json", "50-berth-poststop.json"])
        for (file, stage) in zip(files, ["createRuntime", "poststop"]) {
            let json = try JSONValue(parsing: file.contents)
            #expect(json.objectValue?.map(\.0) == sample.objectValue?.map(\.0))
            #expect(json["version"] == sample["version"])
            // The sample's members, and the timeout (oci-hooks(5): the hook is an OCI hook entry).
            #expect(json["hook"]?.objectValue?.map(\.0) == (sample["hook"]?.objectValue?.map(\.0) ?? []) + ["timeout"])
            #expect(json["hook"]?["timeout"] == 40)
            #expect(json["hook"]?["args"] == ["berth-oci-hook", .string(stage)])
            #expect(json["hook"]?["env"] == ["BERTH_STATE_DIR=/s"])
            #expect(json["stages"] == [.string(stage)])
            #expect(json["when"]?["annotations"] == .object([(#"^berth\.(network|publish|ip|ip6|mac)$"#, ".*")]))
        }
        let daemon = try JSONValue(parsing: HookFiles.dockerDaemonJSON(wrapperPath: "/usr/local/bin/berth-oci-runtime"))
        #expect(daemon == ["runtimes": ["berth": ["path": "/usr/local/bin/berth-oci-runtime"]]])
    }
}
