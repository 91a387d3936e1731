import BerthCore
import Testing

@Suite("BerthError")
struct BerthErrorTests {
    struct Cause: Error, Sendable, CustomStringConvertible {
        var description: String { "Operation not permitted" }
    }

    @Test func descriptionJoinsMessageCauseAndHint() {
        #expect(BerthError(.notFound, "network \"web\" not found").description == "network \"web\" not found")
        #expect(BerthError(.conflict, "port 8080 is taken", hint: "choose another host port").description
            == "port 8080 is taken (choose another host port)")
        #expect(BerthError(.permissionDenied, "cannot create bridge br0", cause: Cause()).description
            == "cannot create bridge br0: Operation not permitted")
        #expect(BerthError(.permissionDenied, "cannot create bridge br0", hint: "run as root", cause: Cause()).description
            == "cannot create bridge br0: Operation not permitted (run as root)")
    }

    @Test func nestedCausesChain() {
        let inner = BerthError(.kernel, "RTM_NEWLINK failed", cause: Cause())
        let outer = BerthError(.state, "cannot attach endpoint", hint: "see berth doctor", cause: inner)
        #expect(outer.description == "cannot attach endpoint: RTM_NEWLINK failed: Operation not permitted (see berth doctor)")
        #expect((outer.cause as? BerthError)?.code == .kernel)
    }

    @Test func invalidShorthand() {
        let error = BerthError.invalid("bad value \"x\"", hint: "use y")
        #expect(error.code == .invalidArgument)
        #expect(error.message == "bad value \"x\"")
        #expect(error.hint == "use y")
        #expect(error.cause == nil)
        #expect(BerthError.invalid("bad").hint == nil)
    }

    @Test func codesAreStableStrings() throws {
        let all: [BerthError.Code] = [
            .invalidArgument, .notFound, .alreadyExists, .conflict, .permissionDenied,
            .unsupported, .kernel, .state, .system, .internalError,
        ]
        #expect(all.map(\.rawValue) == [
            "invalidArgument", "notFound", "alreadyExists", "conflict", "permissionDenied",
            "unsupported", "kernel", "state", "system", "internalError",
        ])
        let (decoded, json) = try jsonRoundTrip(BerthError.Code.conflict)
        #expect(json == #"{"value":"conflict"}"#)
        #expect(decoded == .conflict)
        #expect(throws: DecodingError.self) { try jsonDecode(BerthError.Code.self, fromValue: #""nope""#) }
    }

    @Test func typedThrowsCarryTheCode() {
        func fail() throws(BerthError) { throw .invalid("x") }
        do { try fail() } catch { #expect(error.code == .invalidArgument) }
    }
}
