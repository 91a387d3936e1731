import BerthCore
@testable import BerthNFTables
import Testing

/// A message libnftnl could not build whole fails: a batch must never go out, and commit,
/// without one of its elements.
@Suite("nftables message building")
struct MessageBuildTests {
    @Test("an element libnftnl cannot allocate fails the message instead of leaving the element out")
    func elementAllocationFails() throws {
        let (_, publish, _, _, _) = Fixture.publishTable("berth-test")
        let elements = Array(Fixture.publishElements.prefix(3))
        let type = NFTNL.MessageType.newSetElem
        // Control: every allocation succeeds, and each element makes the message longer.
        let whole = try NFTNL.elementsMessage(publish, elements, type: type, flags: 0, sequence: 1)
        let two = try NFTNL.elementsMessage(publish, Array(elements.prefix(2)), type: type, flags: 0, sequence: 1)
        #expect(whole.count > two.count)
        // The second allocation fails (out of memory): an error naming the element, no bytes.
        var calls = 0
        let error = #expect(throws: BerthError.self) {
            try NFTNL.elementsMessage(publish, elements, type: type, flags: 0, sequence: 1) {
                calls += 1
                return calls == 2 ? nil : NFTNL.newElement()
            }
        }
        #expect(error?.code == .system)
        #expect(error?.message.contains("allocate an nftnl element for \(elements[1].rendered)") == true, "\(String(describing: error))")
    }
}
