// libFuzzer target for berth-cni's input path: stdin bytes → JSON → network configuration
// → prevResult and port mappings, as the plugin decodes them (no kernel, no state).
// Built and run by scripts/fuzz; crashes, hangs, leaks and broken round trips are findings.
import BerthCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCNI(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let json = try? CNIInput.parse(bytes) else { return 0 }
    // Rendering and parsing again gives the same document.
    guard let again = try? JSONValue(parsing: json.render()), again == json else {
        fatalError("JSON round trip changed \(json.render())")
    }
    for lenient in [false, true] {
        guard let config = try? CNIConfig(json, lenient: lenient) else { continue }
        for mapping in config.portMappings { _ = try? mapping.portSpec() }
        if let previous = config.prevResult, let result = try? CNIResult.parse(previous, path: "prevResult") {
            _ = result.containerAddress(ifname: "eth0")
            for version in CNIVersion.supported {
                // A parsed result renders in every version and parses back to itself.
                guard let back = try? CNIResult.parse(result.rendered(version: version), path: "r"), back == result else {
                    fatalError("result round trip in \(version) changed \(previous.render())")
                }
            }
        }
        if let valid = config.validAttachments {
            for pair in valid {
                let id = CNIAttachment.endpointID(containerID: pair.containerID, ifname: pair.ifname)
                if !pair.containerID.isEmpty, CNIAttachment.containerID(endpointID: id, ifname: pair.ifname) != pair.containerID {
                    fatalError("attachment id \(id) does not give back \(pair.containerID)")
                }
            }
        }
    }
    return 0
}
