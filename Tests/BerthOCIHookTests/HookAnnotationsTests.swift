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

/// `berth.name` and `berth.aliases`: the endpoint's DNS names.
@Suite("berth.name and berth.aliases annotations")
struct HookNameAnnotationsTests {
    @Test("a name and comma-separated aliases are read trimmed, in order")
    func read() throws {
        let request = try HookAnnotations(["berth.name": " web ", "berth.aliases": "www, api.v2 ,lb"])
        #expect(request.name == "web")
        #expect(request.aliases == ["www", "api.v2", "lb"])
        #expect(HookAnnotations.present(in: ["berth.name": "web"]) && HookAnnotations.present(in: ["berth.aliases": "www"]))
        let none = try HookAnnotations(["berth.network": "front"])
        #expect(none.name == nil && none.aliases.isEmpty)
        // The state's value over config.json's, as for every annotation.
        let merged = try HookAnnotations(OCIAnnotations(["berth.name": "state"]), over: OCIAnnotations(["berth.name": "config", "berth.aliases": "www"]))
        #expect(merged.name == "state" && merged.aliases == ["www"])
    }

    @Test("a name or alias that is no DNS name, an empty name or an empty alias entry is refused naming the annotation",
          arguments: [("berth.name", "web_1.", "is not a valid DNS name"), ("berth.name", "", "is not a valid DNS name"),
                      ("berth.name", "-web", "is not a valid DNS name"), ("berth.aliases", "www,,lb", "has an empty entry"),
                      ("berth.aliases", "www,my app", "\"my app\" is not a valid DNS name")])
    func refused(key: String, value: String, fragment: String) {
        let error = #expect(throws: BerthError.self) { try HookAnnotations([key: value]) }
        #expect(error?.parameter == key, "\(String(describing: error))")
        #expect(error?.message.hasPrefix("annotation \(key)") == true && error?.message.contains(fragment) == true, "\(String(describing: error))")
    }
}
