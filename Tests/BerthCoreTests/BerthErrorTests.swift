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

@Suite("BerthError structure")
struct BerthErrorStructureTests {
    @Test func remedyWordsTheAdviceWhenThereIsNoHint() {
        let error = BerthError(.alreadyExists, "host veth vb1 already exists", object: .link("vb1"), operation: .attach, remedy: .collectGarbage)
        #expect(error.description == "host veth vb1 already exists (remove leftovers with garbage collection)")
        #expect(error.object == .link("vb1"))
        #expect(error.operation == .attach)
        let hinted = BerthError(.conflict, "x", hint: "do y", remedy: .reconcile)
        #expect(hinted.description == "x (do y)")
    }

    @Test func withKeepsWhatIsSetAndFillsTheRest() {
        let error = BerthError.invalid("bad interface name", parameter: "interfaceName")
            .with(object: .endpoint("e1"), operation: .attach, parameter: "other")
        #expect(error.parameter == "interfaceName")
        #expect(error.object == .endpoint("e1"))
        #expect(error.operation == .attach)
        #expect(error.code == .invalidArgument)
    }

    @Test func remedyWordings() {
        #expect(BerthError.Remedy.chooseAnother(parameter: "interfaceName").description == "choose another interfaceName")
        #expect(BerthError.Remedy.remove(.network("web")).description == "remove network web first")
        #expect(BerthError.Remedy.listExisting(.network).description == "list the existing networks")
        #expect(BerthError.Remedy.listExisting(.address).description == "list the existing addresses")
    }
}
