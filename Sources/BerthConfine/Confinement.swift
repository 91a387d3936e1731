public import BerthCore

/// What a container's processes may do, beyond what their namespaces let them see: their
/// capabilities, the system calls they may make, and whether exec may raise privileges.
///
/// Docker's defaults: `Confinement()` is the 14 default capabilities under Docker's seccomp
/// profile. `docker run --cap-add/--cap-drop` adjust `capabilities`,
/// `--security-opt seccomp=unconfined` sets `seccomp` to nil,
/// `--security-opt no-new-privileges` sets `noNewPrivileges`. A command entering a running
/// container (`ContainerProcess.enter`) is given the container's confinement.
public struct Confinement: Sendable, Hashable {
    /// The capabilities root in the container keeps (bounding, permitted, effective; the
    /// inheritable set is emptied and the ambient set cleared, as runc ≥ 1.1.2).
    public var capabilities: CapabilitySet
    /// The system call filter, or nil for none (unconfined).
    public var seccomp: SeccompProfile?
    /// Set PR_SET_NO_NEW_PRIVS: setuid and file-capability programs then gain nothing on exec.
    /// Docker leaves it off unless asked; the filter is then installed while the process still
    /// holds CAP_SYS_ADMIN, before capabilities are dropped (runc's order).
    public var noNewPrivileges: Bool

    /// Docker's defaults unless told otherwise: the default capabilities, the default seccomp profile, exec may raise privileges.
    public init(capabilities: CapabilitySet = .docker, seccomp: SeccompProfile? = .docker, noNewPrivileges: Bool = false) {
        self.capabilities = capabilities
        self.seccomp = seccomp
        self.noNewPrivileges = noNewPrivileges
    }

    /// What a privileged container gets (Docker's `--privileged`): every capability and no filter.
    public static let privileged = Confinement(capabilities: .all, seccomp: nil)

    /// The filter for these capabilities on this machine, or nil when unconfined. The default
    /// profile's program for Docker's default capabilities is compiled once and shared.
    public func seccompProgram() throws(BerthError) -> [BPFInstruction]? {
        guard let seccomp else { return nil }
        if seccomp == .docker, capabilities == .docker { return try Self.defaultProgram.get() }
        return try SeccompCompiler.compile(seccomp, capabilities: capabilities)
    }

    private static let defaultProgram = Result { () throws(BerthError) -> [BPFInstruction] in
        try SeccompCompiler.compile(.docker, capabilities: .docker)
    }
}

/// One `--security-opt` value as Docker spells it.
public enum SecurityOption: Sendable, Hashable {
    /// `seccomp=unconfined` (also `seccomp:unconfined`).
    case seccompUnconfined
    /// `no-new-privileges`, `no-new-privileges=true|false` (also with ':').
    case noNewPrivileges(Bool)

    /// Parses one `--security-opt` value; throws for a seccomp profile other than unconfined and for any other option.
    public init(parsing text: String) throws(BerthError) {
        let separator = text.firstIndex { $0 == "=" || $0 == ":" }
        let key = separator.map { String(text[..<$0]) } ?? text
        let value = separator.map { String(text[text.index(after: $0)...]) }
        switch (key, value) {
        case ("seccomp", "unconfined"?):
            self = .seccompUnconfined
        case ("seccomp", _):
            throw BerthError(.unsupported, "seccomp profile \"\(value ?? "")\" is not supported",
                             hint: "leave the seccomp option out for Docker's default profile, or give seccomp=unconfined", parameter: "securityOptions")
        case ("no-new-privileges", nil), ("no-new-privileges", "true"?):
            self = .noNewPrivileges(true)
        case ("no-new-privileges", "false"?):
            self = .noNewPrivileges(false)
        case ("apparmor", _), ("label", _), ("systempaths", _), ("mask", _), ("unmask", _):
            throw BerthError(.unsupported, "security option \"\(text)\" is not supported",
                             hint: "only seccomp=unconfined and no-new-privileges are available", parameter: "securityOptions")
        default:
            throw .invalid("invalid security option \"\(text)\"", hint: "use seccomp=unconfined or no-new-privileges", parameter: "securityOptions")
        }
    }

    /// Applies the option to `confinement`.
    public func apply(to confinement: inout Confinement) {
        switch self {
        case .seccompUnconfined: confinement.seccomp = nil
        case .noNewPrivileges(let on): confinement.noNewPrivileges = on
        }
    }
}
