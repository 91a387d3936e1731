import ArgumentParser
import Berth
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `berth hook install`: what podman and docker need to run `berth-oci-hook`.
struct HookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hook",
        abstract: "Set up Berth's OCI hook (berth-oci-hook) for podman and docker.",
        subcommands: [Install.self]
    )

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write podman's hooks.d files and docker's runtime wrapper.",
            discussion: """
                podman runs the hook for containers with a berth.* annotation:
                  podman run --network none --annotation berth.publish=8080:80 IMAGE
                docker runs it through the wrapper, registered as the runtime "berth"
                (dockerd --add-runtime berth=WRAPPER, or "runtimes" in daemon.json):
                  docker run --runtime berth --network none -e BERTH_PUBLISH=8080:80 IMAGE
                See docs/oci-hook.md.
                """
        )

        @Option(help: ArgumentHelp("The berth-oci-hook to run (default: the one beside this berth).", valueName: "PATH"))
        var hook: String?
        @Option(help: ArgumentHelp("podman's hooks directory.", valueName: "DIR"))
        var hooksDir = HookInstaller.defaultHooksDirectory
        @Option(help: ArgumentHelp("Where to link docker's runtime wrapper, under any name (default: berth-oci-runtime beside the hook).", valueName: "PATH"))
        var runtimeWrapper: String?
        @Flag(help: "Only podman's hooks.d files.") var podmanOnly = false
        @Flag(help: "Only docker's runtime wrapper.") var dockerOnly = false
        @OptionGroup var state: StateOption

        func validate() throws {
            if podmanOnly, dockerOnly { throw ValidationError("--podman-only and --docker-only exclude each other") }
        }

        func run() throws {
            let hookPath = try hook ?? Self.besideThisBerth("berth-oci-hook")
            let directory = hookPath.lastIndex(of: "/").map { String(hookPath[..<$0]) } ?? "."
            let installer = HookInstaller(
                hookPath: hookPath, hooksDirectory: dockerOnly ? nil : hooksDir,
                wrapperPath: podmanOnly ? nil : (runtimeWrapper ?? directory + "/" + HookFiles.runtimeWrapperName),
                stateDirectory: HookInstaller.stateDirectoryInEffect(option: state.stateDir))
            let installed: HookInstaller.Installed
            do {
                installed = try installer.install()
            } catch {
                throw Self.worded(error)
            }
            for file in installed.files { print("wrote \(file)") }
            if let wrapper = installed.wrapper {
                if let stateDirectory = installer.stateDirectory {
                    print("wrote \(wrapper): runs \(hookPath) with BERTH_STATE_DIR=\(stateDirectory)")
                } else {
                    print("linked \(wrapper) -> \(hookPath)")
                }
                print("register it with dockerd: --add-runtime berth=\(wrapper), or in daemon.json:")
                print(HookFiles.dockerDaemonJSON(wrapperPath: wrapper))
            }
        }

        /// The library's error with this command's flags in its advice.
        static func worded(_ error: BerthError) -> BerthError {
            let flags = ["hookPath": "--hook", "hooksDirectory": "--hooks-dir", "wrapperPath": "--runtime-wrapper", "stateDirectory": "--state-dir (or BERTH_STATE_DIR)"]
            guard let parameter = error.parameter, let flag = flags[parameter] else { return error }
            let hint = switch error.remedy {
            case .remove(let object)?: "remove \(object.name), or choose another \(flag)"
            case .chooseAnother?: "choose another \(flag)"
            default:
                if error.code == .invalidArgument { "give an absolute path with \(flag)" }
                else if parameter == "hookPath" { "build it with 'swift build --product berth-oci-hook', or give its path with \(flag)" }
                else { "check \(flag)" }
            }
            return BerthError(error.code, error.message, hint: hint, object: error.object, operation: error.operation,
                              parameter: error.parameter, cause: error.cause)
        }

        /// `NAME` in the directory of the running berth binary.
        static func besideThisBerth(_ name: String) throws -> String {
            var buffer = [CChar](repeating: 0, count: 4097)
            let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
            guard count > 0 else { throw ValidationError("cannot find this berth's path; give --hook") }
            let me = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let directory = me.lastIndex(of: "/").map { String(me[..<$0]) } ?? "."
            return directory + "/" + name
        }
    }
}
