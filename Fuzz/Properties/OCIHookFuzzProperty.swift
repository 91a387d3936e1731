// What must hold for any bytes berth-oci-hook reads from other programs (the container
// state, a bundle's config.json, the berth.* annotations, the docker wrapper's rewrite).
// Checked by the libFuzzer harness (Fuzz/oci-hook/FuzzOCIHook.swift, scripts/fuzz-oci-hook)
// on new inputs and by BerthOCIHookTests on every file of Fuzz/corpus/oci-hook.
import BerthCore
import BerthOCIHook

public enum OCIHookFuzzProperty {
    /// nil when the property holds for `bytes`, else what broke.
    public static func violation(_ bytes: [UInt8]) -> String? {
        if let state = try? OCIState(parsing: bytes) {
            // What the decoder promises the rest of the hook.
            guard !state.id.isEmpty, state.id.utf8.count <= OCIState.maxIDLength else {
                return "state id of \(state.id.utf8.count) bytes accepted"
            }
            guard state.id.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else { return "state id \(state.id.debugDescription) accepted" }
            guard state.pid.map({ $0 > 0 }) ?? true else { return "state pid \(String(describing: state.pid)) accepted" }
            if let request = try? HookAnnotations(state.annotations), request.network.map(\.isEmpty) ?? false {
                return "an empty berth.network annotation accepted"
            }
        }
        if let config = try? OCIBundleConfig(parsing: bytes), case .path(let path) = config.networkNamespace, path.isEmpty {
            return "config.json with an empty network namespace path accepted"
        }
        if let json = try? JSONValue(parsingUTF8: bytes), let rewritten = try? RuntimeWrapper.rewrite(json, hookPath: "/h", hookEnvironment: []) {
            // The rewrite is idempotent and its output parses back to itself.
            guard (try? RuntimeWrapper.rewrite(rewritten, hookPath: "/h", hookEnvironment: [])) == rewritten else {
                return "the runtime wrapper's rewrite is not idempotent on \(json.render())"
            }
            guard (try? JSONValue(parsing: rewritten.render())) == rewritten else {
                return "the rewritten config does not parse back to itself: \(rewritten.render())"
            }
        }
        return nil
    }
}
