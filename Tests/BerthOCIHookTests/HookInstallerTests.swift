import BerthCore
import BerthOCIHook
import BerthTestSupport
import Foundation
import Testing

@Suite("berth hook install's files")
struct HookInstallerTests {
    @Test("writes the hooks.d files and the wrapper (a link; a script when the state is elsewhere), and a rerun replaces them")
    func install() throws {
        let root = NSTemporaryDirectory() + "berth-hook-install-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let wrapper = root + "/bin/berth-oci-runtime"
        let installer = HookInstaller(hookPath: "/bin/true", hooksDirectory: root + "/etc/hooks.d", wrapperPath: wrapper,
                                      stateDirectory: "/srv/berth")
        for _ in 0..<2 {
            let installed = try installer.install()
            #expect(installed.files == [root + "/etc/hooks.d/50-berth-createRuntime.json", root + "/etc/hooks.d/50-berth-poststop.json"])
            #expect(installed.wrapper == wrapper)
        }
        let created = try JSONValue(parsing: String(contentsOfFile: root + "/etc/hooks.d/50-berth-createRuntime.json", encoding: .utf8))
        #expect(created["hook"]?["path"] == "/bin/true")
        #expect(created["hook"]?["env"] == ["BERTH_STATE_DIR=/srv/berth"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/etc/hooks.d").sorted() == ["50-berth-createRuntime.json", "50-berth-poststop.json"])
        #expect(try String(contentsOfFile: wrapper, encoding: .utf8) == """
            #!/bin/sh
            # berth-oci-runtime: written by berth hook install (docker's runtime wrapper)
            BERTH_STATE_DIR='/srv/berth'; export BERTH_STATE_DIR
            exec '/bin/true' _runtime "$@"

            """)
        // A quote in a path is closed, escaped and reopened.
        #expect(HookInstaller.wrapperScript(hookPath: "/opt/it's/hook", stateDirectory: "/s")
                .contains(#"exec '/opt/it'\''s/hook' _runtime "$@""#))
        #expect(FileManager.default.isExecutableFile(atPath: wrapper))

        // The default state: no environment, and the script gives way to a link again.
        let plain = try HookInstaller(hookPath: "/bin/true", hooksDirectory: root + "/etc/hooks.d", wrapperPath: wrapper).install()
        #expect(plain.wrapper == wrapper)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: wrapper) == "/bin/true")
        let again = try JSONValue(parsing: String(contentsOfFile: root + "/etc/hooks.d/50-berth-poststop.json", encoding: .utf8))
        #expect(again["hook"]?["env"] == [])
    }

    @Test("the wrapper script runs the hook as the wrapper with its state directory, which the hooks it adds get; quotes survive",
          .enabled(if: FileManager.default.isExecutableFile(atPath: Harness.hookBinary)))
    func wrapperScriptPassesState() throws {
        let root = NSTemporaryDirectory() + "berth-hook-script-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root + "/bundle", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let state = "/srv/it's berth"
        let wrapper = root + "/bin/berth-oci-runtime"
        _ = try HookInstaller(hookPath: Harness.hookBinary, hooksDirectory: nil, wrapperPath: wrapper, stateDirectory: state).install()
        try #"{"process":{"env":["PATH=/bin","BERTH_PUBLISH=8080:80"]}}"#.write(toFile: root + "/bundle/config.json", atomically: true, encoding: .utf8)
        // As containerd's shim calls it, with none of dockerd's environment; runc is /bin/true.
        let run = Command.run(["/usr/bin/env", "-i", "BERTH_RUNC=/bin/true", wrapper, "--root", "/run/x", "create", "--bundle", root + "/bundle", "c1"])
        #expect(run.succeeded, "\(run)")
        let config = try JSONValue(parsing: String(contentsOfFile: root + "/bundle/config.json", encoding: .utf8))
        #expect(config["hooks"]?["createRuntime"]?[0]?["env"] == [.string("BERTH_STATE_DIR=" + state)])
        #expect(config["hooks"]?["poststop"]?[0]?["env"] == [.string("BERTH_STATE_DIR=" + state)])
        #expect(config["hooks"]?["createRuntime"]?[0]?["path"] == .string(URL(fileURLWithPath: Harness.hookBinary).resolvingSymlinksInPath().path))
    }

    @Test("the wrapper reads runc's single-dash options, and fails a command line it cannot read that holds create",
          .enabled(if: FileManager.default.isExecutableFile(atPath: Harness.hookBinary)))
    func wrapperSingleDashOptions() throws {
        let root = NSTemporaryDirectory() + "berth-hook-dash-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root + "/bundle", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let original = #"{"process":{"env":["PATH=/bin","BERTH_PUBLISH=8080:80"]}}"#
        try original.write(toFile: root + "/bundle/config.json", atomically: true, encoding: .utf8)
        func wrapper(_ arguments: [String]) -> CommandResult {
            Command.run(["/usr/bin/env", "-i", "BERTH_RUNC=/bin/true", Harness.hookBinary, "_runtime"] + arguments)
        }
        let unreadable = wrapper(["--criu", "-root", "/run/x", "create", "-bundle", root + "/bundle", "c1"])
        #expect(unreadable.status == 1 && unreadable.stderr.contains("berth-oci-runtime: cannot read runc's command line"), "\(unreadable)")
        #expect(try String(contentsOfFile: root + "/bundle/config.json", encoding: .utf8) == original)
        let run = wrapper(["-root", "/run/x", "-log-format", "json", "create", "-bundle", root + "/bundle", "c1"])
        #expect(run.succeeded, "\(run)")
        let config = try JSONValue(parsing: String(contentsOfFile: root + "/bundle/config.json", encoding: .utf8))
        #expect(config["hooks"]?["createRuntime"]?[0]?["args"] == ["berth-oci-hook", "createRuntime"])
        #expect(config["annotations"] == ["berth.publish": "8080:80"])
    }

    @Test("berth hook install writes the state directory in effect: --state-dir, else BERTH_STATE_DIR, nothing for the default",
          .enabled(if: FileManager.default.isExecutableFile(atPath: Command.berthBinary)))
    func stateDirectoryInEffect() throws {
        let root = NSTemporaryDirectory() + "berth-hook-env-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        func install(_ options: [String], environment: [String]) throws -> JSONValue {
            let result = Command.run(["/usr/bin/env", "-i"] + environment + [Command.berthBinary, "hook", "install", "--podman-only", "--hook", "/bin/true",
                                                                              "--hooks-dir", root + "/hooks.d"] + options)
            try #require(result.succeeded, "\(result)")
            return try #require(try JSONValue(parsing: String(contentsOfFile: root + "/hooks.d/50-berth-createRuntime.json", encoding: .utf8))["hook"]?["env"])
        }
        #expect(try install([], environment: ["BERTH_STATE_DIR=/srv/from-env/"]) == ["BERTH_STATE_DIR=/srv/from-env"])
        #expect(try install(["--state-dir", "/srv/option"], environment: ["BERTH_STATE_DIR=/srv/from-env"]) == ["BERTH_STATE_DIR=/srv/option"])
        #expect(try install([], environment: ["BERTH_STATE_DIR=/var/lib/berth"]) == [])
        #expect(try install([], environment: []) == [])
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
            _ = try HookInstaller(hookPath: "/bin/true", hooksDirectory: root + "/h", wrapperPath: root + "/taken").install()
        }
        #expect(taken.code == .alreadyExists && taken.remedy == .remove(.file(root + "/taken")))
        #expect(try String(contentsOfFile: root + "/taken", encoding: .utf8) == "x")
        // Refused before the hooks.d files: podman's hooks are not left installed.
        #expect(!FileManager.default.fileExists(atPath: root + "/h"))
    }

    @Test("a symlink at the wrapper path is replaced only when it leads to the hook; any other is refused naming where it points")
    func foreignSymlink() throws {
        let root = NSTemporaryDirectory() + "berth-hook-link-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        // The host's runc as a link (as /usr/bin/runc is on some systems).
        try FileManager.default.createSymbolicLink(atPath: root + "/runc", withDestinationPath: "/bin/false")
        let refused = try #require(throws: BerthError.self) {
            _ = try HookInstaller(hookPath: "/bin/true", hooksDirectory: root + "/h", wrapperPath: root + "/runc").install()
        }
        #expect(refused.code == .alreadyExists && refused.parameter == "wrapperPath" && refused.remedy == .chooseAnother(parameter: "wrapperPath"))
        #expect(refused.message.contains(root + "/runc") && refused.message.contains("/bin/false"), "\(refused.message)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/runc") == "/bin/false")
        #expect(!FileManager.default.fileExists(atPath: root + "/h"))
        // A dangling link is no earlier wrapper either.
        try FileManager.default.createSymbolicLink(atPath: root + "/dangling", withDestinationPath: root + "/nothing")
        #expect(throws: BerthError.self) {
            _ = try HookInstaller(hookPath: "/bin/true", hooksDirectory: nil, wrapperPath: root + "/dangling").install()
        }
        // A link to the hook (another path to the same file) or to a berth-oci-hook is an earlier wrapper.
        try FileManager.default.createSymbolicLink(atPath: root + "/true-link", withDestinationPath: "/bin/true")
        try FileManager.default.createSymbolicLink(atPath: root + "/wrapper", withDestinationPath: root + "/true-link")
        _ = try HookInstaller(hookPath: "/bin/true", hooksDirectory: nil, wrapperPath: root + "/wrapper").install()
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/wrapper") == "/bin/true")
        try FileManager.default.createSymbolicLink(atPath: root + "/old", withDestinationPath: "/opt/old/berth-oci-hook")
        _ = try HookInstaller(hookPath: "/bin/true", hooksDirectory: nil, wrapperPath: root + "/old").install()
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/old") == "/bin/true")
    }

    @Test("a symbolic link left at a temporary file's path is replaced, never followed: the file it leads to keeps its bytes")
    func temporaryLinkNotFollowed() throws {
        let root = NSTemporaryDirectory() + "berth-hook-temp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root + "/h", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try "precious".write(toFile: root + "/victim", atomically: true, encoding: .utf8)
        // The installer runs in this process: its temporary files are PATH.berth-<our pid>.
        let target = root + "/h/50-berth-createRuntime.json"
        try FileManager.default.createSymbolicLink(atPath: target + ".berth-\(getpid())", withDestinationPath: root + "/victim")
        try FileManager.default.createSymbolicLink(atPath: root + "/wrapper.berth-\(getpid())", withDestinationPath: root + "/victim")
        _ = try HookInstaller(hookPath: "/bin/true", hooksDirectory: root + "/h", wrapperPath: root + "/wrapper", stateDirectory: "/srv/b").install()
        #expect(try String(contentsOfFile: root + "/victim", encoding: .utf8) == "precious")
        let written = try FileManager.default.attributesOfItem(atPath: target)
        #expect(written[.type] as? FileAttributeType == .typeRegular)
        #expect(try JSONValue(parsing: String(contentsOfFile: target, encoding: .utf8))["hook"]?["path"] == "/bin/true")
        #expect(try FileManager.default.attributesOfItem(atPath: root + "/wrapper")[.type] as? FileAttributeType == .typeRegular)
        #expect(try String(contentsOfFile: root + "/wrapper", encoding: .utf8).hasPrefix("#!/bin/sh\n# berth-oci-runtime"))
    }

    @Test("a wrapper path that is the hook itself — the same path, through a linked directory, or the hook a link leads to — is refused, the hook kept")
    func wrapperIsTheHook() throws {
        let root = NSTemporaryDirectory() + "berth-hook-self-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.copyItem(atPath: "/bin/true", toPath: root + "/bin/berth-oci-hook")
        try FileManager.default.createSymbolicLink(atPath: root + "/alias", withDestinationPath: root + "/bin")
        try FileManager.default.createSymbolicLink(atPath: root + "/hook-link", withDestinationPath: root + "/bin/berth-oci-hook")
        let hook = root + "/bin/berth-oci-hook"
        for (hookPath, wrapperPath, state) in [(hook, hook, nil), (hook, root + "/alias/berth-oci-hook", nil), (root + "/hook-link", root + "/hook-link", nil),
                                               (root + "/hook-link", hook, "/srv/b"), (hook, hook, "/srv/b")] as [(String, String, String?)] {
            let refused = try #require(throws: BerthError.self, "\(hookPath) as \(wrapperPath)") {
                _ = try HookInstaller(hookPath: hookPath, hooksDirectory: root + "/h", wrapperPath: wrapperPath, stateDirectory: state).install()
            }
            #expect(refused.code == .invalidArgument && refused.parameter == "wrapperPath" && refused.remedy == .chooseAnother(parameter: "wrapperPath"))
            #expect(refused.message == "\(wrapperPath) is berth-oci-hook itself (\(hookPath)): the wrapper made there would replace the hook", "\(refused.message)")
            #expect(FileManager.default.contentsEqual(atPath: hook, andPath: "/bin/true"))
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/hook-link") == hook)
            #expect(!FileManager.default.fileExists(atPath: root + "/h"))
        }
    }

    @Test("the wrapper works under any installed name: a link named berth-runc rewrites config.json and runs runc",
          .enabled(if: FileManager.default.isExecutableFile(atPath: Harness.hookBinary)))
    func wrapperUnderAnotherName() throws {
        let root = NSTemporaryDirectory() + "berth-hook-name-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root + "/bundle", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let wrapper = root + "/bin/berth-runc"
        _ = try HookInstaller(hookPath: Harness.hookBinary, hooksDirectory: nil, wrapperPath: wrapper).install()
        try #"{"process":{"env":["PATH=/bin","BERTH_PUBLISH=8080:80"]}}"#.write(toFile: root + "/bundle/config.json", atomically: true, encoding: .utf8)
        // As go-runc runs it: argv[0] the installed path.
        let run = Command.run(["/usr/bin/env", "-i", "BERTH_RUNC=/bin/true", wrapper, "--root", "/run/x", "--log-format", "json",
                               "create", "--bundle", root + "/bundle", "c1"])
        #expect(run.succeeded, "\(run)")
        let config = try JSONValue(parsing: String(contentsOfFile: root + "/bundle/config.json", encoding: .utf8))
        #expect(config["hooks"]?["createRuntime"]?[0]?["args"] == ["berth-oci-hook", "createRuntime"])
        // runc's other calls pass through, --version among them (dockerd asks it).
        try "#!/bin/sh\necho \"runc $*\"\n".write(toFile: root + "/runc", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root + "/runc")
        let version = Command.run(["/usr/bin/env", "-i", "BERTH_RUNC=" + root + "/runc", wrapper, "--version"])
        #expect(version.succeeded && version.stdout == "runc --version\n", "\(version)")
        // Under the same name, a hook stage is the hook's.
        let stage = Command.run(["/usr/bin/env", "-i", wrapper, "createContainer"], input: #"{"id":"c1"}"#)
        #expect(stage.succeeded, "\(stage)")
    }
}
