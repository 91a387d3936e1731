import BerthConfine
import BerthCore
import Testing

@Suite("SecurityOption and Confinement")
struct SecurityOptionTests {
    @Test("Docker's spellings of --security-opt")
    func spellings() throws {
        #expect(try SecurityOption(parsing: "seccomp=unconfined") == .seccompUnconfined)
        #expect(try SecurityOption(parsing: "seccomp:unconfined") == .seccompUnconfined)
        #expect(try SecurityOption(parsing: "no-new-privileges") == .noNewPrivileges(true))
        #expect(try SecurityOption(parsing: "no-new-privileges=true") == .noNewPrivileges(true))
        #expect(try SecurityOption(parsing: "no-new-privileges:false") == .noNewPrivileges(false))
    }

    @Test("custom profiles and other LSM options are unsupported; junk is invalid")
    func refused() {
        for (text, code) in [("seccomp=/etc/profile.json", BerthError.Code.unsupported), ("apparmor=unconfined", .unsupported),
                             ("label=disable", .unsupported), ("seccomp", .unsupported), ("no-new-privileges=maybe", .invalidArgument),
                             ("selinux", .invalidArgument), ("", .invalidArgument)] {
            do {
                _ = try SecurityOption(parsing: text)
                Issue.record("accepted \"\(text)\"")
            } catch {
                #expect(error.code == code, "\(text): \(error)")
            }
        }
    }

    @Test("applying options; the defaults are Docker's")
    func apply() throws {
        var confinement = Confinement()
        #expect(confinement.capabilities == .docker && confinement.seccomp == .docker && !confinement.noNewPrivileges)
        try SecurityOption(parsing: "seccomp=unconfined").apply(to: &confinement)
        try SecurityOption(parsing: "no-new-privileges").apply(to: &confinement)
        #expect(confinement.seccomp == nil && confinement.noNewPrivileges)
        #expect(Confinement.privileged.capabilities == .all && Confinement.privileged.seccomp == nil)
    }
}
