#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthNetwork

/// What the plugin prints on stdout and the status it exits with.
public struct CNIResponse: Sendable, Hashable {
    /// The result, the version information or the error object, as JSON text; empty when
    /// the command prints nothing (DEL, GC, STATUS, CHECK on success).
    public var output: String
    /// 0 on success, 1 with an error object on stdout.
    public var exitCode: Int32

    /// A response printing `output` and exiting with `exitCode`.
    public init(output: String, exitCode: Int32) {
        self.output = output
        self.exitCode = exitCode
    }
}

/// `berth-cni`: one CNI invocation, from the environment and stdin to stdout and exit code.
public enum CNIPlugin {
    /// Runs the command named by `CNI_COMMAND` in `environment` with the configuration in
    /// `stdin` (as read by `CNIInput.read`; `stdinError` when that failed).
    ///
    /// `processExitsAfterwards`: the caller is the plugin's process, which exits once the
    /// response is written. A due WAL checkpoint then runs in a process of its own
    /// (`berth-cni _checkpoint DIR`, `CheckpointLauncher`) and Berth's state and sockets are
    /// left to the exit. A process that lives on (a test, a runtime embedding the plugin)
    /// passes false.
    public static func run(environment: [String: String], stdin: [UInt8], stdinError: CNIError? = nil,
                           processExitsAfterwards: Bool = false) -> CNIResponse {
        run(environment: CNIVariables(environment), stdin: stdin, stdinError: stdinError, processExitsAfterwards: processExitsAfterwards)
    }

    /// Runs one command as `run(environment:stdin:stdinError:processExitsAfterwards:)` above
    /// does, with the environment as pairs: berth-cni's own path, which builds no
    /// String-keyed dictionary (see `CNIVariables`).
    public static func run(environment: CNIVariables, stdin: [UInt8], stdinError: CNIError? = nil,
                           processExitsAfterwards: Bool = false) -> CNIResponse {
        var version = CNIVersion.latest
        var log = CNILog()
        // Parsed before the environment is checked, so every error speaks the
        // configuration's version and goes to its log file.
        let parsed: Result<JSONValue, CNIError> = stdinError.map { .failure($0) } ?? Result { () throws(CNIError) in try CNIInput.parse(stdin) }
        if case .success(let json) = parsed {
            if let text = json["cniVersion"]?.stringValue, let given = CNIVersion(text), given.isSupported { version = given }
            // One holding U+0000 would open another file, a relative one a file in the
            // runtime's working directory; CNIConfig refuses both (code 7), to stderr.
            if let path = json["logFile"]?.stringValue, path.hasPrefix("/"), !path.utf8.contains(0) { log = CNILog(path: path) }
        }
        do throws(CNIError) {
            let env = try CNIEnvironment(environment)
            if env.command == .version { return versionInfo(stdin: stdin) }
            let json = try parsed.get()
            let config = try CNIConfig(json, lenient: env.command == .del)
            Trace.mark("cni: input parsed")
            let request = CNIRequest(env: env, config: config, stdin: stdin, environment: environment, log: log,
                                     processExitsAfterwards: processExitsAfterwards)
            defer { request.opened.finish(startPath: env.command == .add) }
            let output: JSONValue? = switch env.command {
            case .add: try request.add()
            case .del: try request.del()
            case .check: try request.check()
            case .gc: try request.gc()
            case .status: try request.status()
            case .version: nil
            }
            return CNIResponse(output: output?.render() ?? "", exitCode: 0)
        } catch {
            log.write("\(environment["CNI_COMMAND"] ?? "?") \(environment["CNI_CONTAINERID"] ?? "") \(environment["CNI_IFNAME"] ?? ""): \(error)")
            return CNIResponse(output: error.rendered(version: version.description).render(), exitCode: 1)
        }
    }

    /// VERSION: the versions Berth speaks. stdin may be empty or hold `{"cniVersion": …}`;
    /// the answer's `cniVersion` is that one whenever it reads as a version, as the spec
    /// asks ("the value of cniVersion specified on input"), spoken by Berth or not; else
    /// the latest. (The reference plugins' skel answers its own latest whatever comes in;
    /// libcni reads only `supportedVersions`, so either satisfies it.)
    static func versionInfo(stdin: [UInt8]) -> CNIResponse {
        var version = CNIVersion.latest
        if let json = try? JSONValue(parsingUTF8: stdin), let text = json["cniVersion"]?.stringValue, let given = CNIVersion(text) {
            version = given
        }
        let info: JSONValue = .object([
            ("cniVersion", .string(version.description)),
            ("supportedVersions", .array(CNIVersion.supported.map { .string($0.description) })),
        ])
        return CNIResponse(output: info.render(), exitCode: 0)
    }
}

/// One invocation's checked inputs, shared by the command handlers.
struct CNIRequest {
    let env: CNIEnvironment
    let config: CNIConfig
    /// stdin as received: delegated IPAM plugins get exactly this.
    let stdin: [UInt8]
    /// The plugin's whole environment: delegated IPAM plugins get it too.
    let environment: CNIVariables
    let log: CNILog
    /// Whether the plugin's process exits once this request is answered (see `CNIPlugin.run`).
    var processExitsAfterwards = false
    /// The state the handler opened, finished with by `CNIPlugin.run`.
    let opened = OpenedBackend()

    /// The attachment's endpoint (or publication) id in Berth's state.
    var attachmentID: String { CNIAttachment.endpointID(containerID: env.containerID, ifname: env.ifname) }

    func backend() throws(CNIError) -> BerthBackend {
        let stateDirectory = try checkedStateDirectory()
        do {
            let backend = try BerthBackend(stateDirectory: stateDirectory, processExitsAfterwards: processExitsAfterwards)
            opened.backend = backend
            return backend
        } catch {
            throw CNIError(error)
        }
    }

    /// The configuration's `stateDir`, refused unless absolute, as is a relative
    /// `BERTH_STATE_DIR` when it has none: a runtime runs the plugin in its own working
    /// directory, so a relative state would be a new, empty one wherever that is, and every
    /// container would get the same address.
    func checkedStateDirectory() throws(CNIError) -> String? {
        let why = "a runtime runs plugins in its own working directory, so it would be a new state wherever that is"
        if let directory = config.stateDir, !directory.isEmpty {
            guard directory.hasPrefix("/") else {
                throw CNIError(.invalidConfig, "\"stateDir\": \(directory) is not an absolute path",
                               details: "\(why): give \"stateDir\" an absolute path, or leave it out for $BERTH_STATE_DIR, else /var/lib/berth")
            }
            return directory
        }
        let variable = StateStore.directoryEnvironmentVariable
        if let value = getenv(variable), value.pointee != 0, value.pointee != 0x2F {
            throw CNIError(.invalidEnvironment, "\(variable)=\(String(cString: value)) is not an absolute path",
                           details: "\(why): set \(variable) to an absolute path in the runtime's environment, or give the configuration an absolute \"stateDir\"")
        }
        return config.stateDir
    }

    func ipamPlugin() throws(CNIError) -> IPAMPlugin? {
        guard let type = config.ipamType else { return nil }
        return try IPAMPlugin(type: type, searchPath: env.path)
    }

    /// The network a main-plugin ADD creates when it does not exist yet.
    /// `subnet`, `gateway` and the IPv6 pair come from a delegated IPAM plugin's result;
    /// the configuration's keys win over them.
    func networkOptions(subnet: CIDR? = nil, gateway: IPv4Address? = nil,
                        ipv6Subnet: CIDR? = nil, ipv6Gateway: IPv6Address? = nil) -> NetworkOptions {
        NetworkOptions(name: config.name, subnet: config.subnet ?? subnet, gateway: config.gateway ?? gateway,
                       bridge: config.bridge, mtu: config.mtu, isInternal: config.isInternal,
                       ipv6: config.wantsIPv6, ipv6Subnet: config.ipv6Subnet ?? ipv6Subnet,
                       ipv6Gateway: config.ipv6Gateway ?? ipv6Gateway, dns: config.dnsEnabled, ipv4: config.ipv4)
    }

    /// Refuses a command the configuration's version does not have (code 1).
    func require(_ supported: Bool, _ since: String) throws(CNIError) {
        guard supported else {
            throw CNIError(.incompatibleVersion, "\(env.command.rawValue) is not part of CNI \(config.cniVersion)",
                           details: "\(env.command.rawValue) needs cniVersion \(since) or later")
        }
    }
}
