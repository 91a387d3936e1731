import BerthCore
import Testing

@Suite("Counted")
struct CountedTests {
    @Test("the singular for one, the plural otherwise, zero included")
    func plurals() {
        #expect(Counted.text(1, "change") == "1 change")
        #expect(Counted.text(0, "change") == "0 changes")
        #expect(Counted.text(2, "container") == "2 containers")
        #expect(Counted.text(1, "object", plural: "objects") == "1 object")
        #expect(Counted.text(3, "namespace") == "3 namespaces")
    }
}
