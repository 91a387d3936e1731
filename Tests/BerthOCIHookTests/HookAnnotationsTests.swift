import BerthCore
import BerthOCIHook
import Testing

/// `berth.publish` in the long form, whose own commas must not split it.
@Suite("berth.publish annotation: the long form")
struct HookAnnotationsTests {
    private func ports(_ value: String) throws -> [String] {
        try HookAnnotations(["berth.publish": value]).ports.map(\.description)
    }

    @Test("a long-form spec keeps its commas, beside short-form specs on either side")
    func longFormStaysWhole() throws {
        #expect(try ports("published=8080,target=80") == ["8080:80/tcp"])
        #expect(try ports("127.0.0.1:5353:53/udp, published=8080,target=80,protocol=udp ,9000:90") == [
            "127.0.0.1:5353:53/udp", "8080:80/udp", "9000:90/tcp",
        ])
    }

    @Test("a key the long-form spec before already has starts the next one")
    func repeatedKeyStartsAnother() throws {
        #expect(try ports("published=8080,target=80,published=9090,target=90") == ["8080:80/tcp", "9090:90/tcp"])
        #expect(try ports("target=80,target=81,protocol=udp") == ["80/tcp", "81/udp"])
    }

    @Test("a long-form spec the PortSpec parser refuses is refused naming the annotation and the whole spec")
    func longFormRefusals() {
        let error = #expect(throws: BerthError.self) { try ports("published=8080,target=80,colour=red") }
        #expect(error?.parameter == "berth.publish")
        #expect(error?.message.contains("published=8080,target=80,colour=red") == true, "\(String(describing: error))")
        #expect(error?.message.contains("unknown key \"colour\"") == true, "\(String(describing: error))")
    }
}
