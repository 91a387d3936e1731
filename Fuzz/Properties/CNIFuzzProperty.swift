// What must hold for any bytes on berth-cni's stdin: decoding turns them into a document
// and a configuration, or an error, and what it decodes survives its own round trips.
// Checked by the libFuzzer harness (Fuzz/cni/FuzzCNI.swift, scripts/fuzz) on new inputs and
// by BerthCNITests on every file of Fuzz/corpus/cni.
import BerthCore
import BerthCNI

public enum CNIFuzzProperty {
    /// nil when the property holds for `bytes`, else what broke.
    public static func violation(_ bytes: [UInt8]) -> String? {
        guard let json = try? CNIInput.parse(bytes) else { return nil }
        // Rendering and parsing again gives the same document.
        guard let again = try? JSONValue(parsing: json.render()), again == json else {
            return "JSON round trip changed \(json.render())"
        }
        for lenient in [false, true] {
            guard let config = try? CNIConfig(json, lenient: lenient) else { continue }
            // Paths and names reach C: one holding U+0000 would be cut short there.
            for text in [config.name, config.stateDir, config.logFile, config.ipamType] where text?.utf8.contains(0) == true {
                return "U+0000 accepted in \(text.map { JSONValue.string($0).render() } ?? "")"
            }
            for mapping in config.portMappings { _ = try? mapping.portSpec() }
            if let previous = config.prevResult, let result = try? CNIResult.parse(previous, path: "prevResult") {
                _ = result.containerAddress(ifname: "eth0")
                for version in CNIVersion.supported {
                    // A parsed result renders in every version and parses back to itself.
                    guard let back = try? CNIResult.parse(result.rendered(version: version), path: "r"), back == result else {
                        return "result round trip in \(version) changed \(previous.render())"
                    }
                }
            }
            if let valid = config.validAttachments {
                for pair in valid {
                    let id = CNIAttachment.endpointID(containerID: pair.containerID, ifname: pair.ifname)
                    if !pair.containerID.isEmpty, CNIAttachment.containerID(endpointID: id, ifname: pair.ifname) != pair.containerID {
                        return "attachment id \(id) does not give back \(pair.containerID)"
                    }
                }
            }
        }
        return nil
    }
}
