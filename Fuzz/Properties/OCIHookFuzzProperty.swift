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
        // config.json is parsed keeping three members (OCIBundleConfig.read): that parse
        // accepts what the full one accepts, refuses with the same message, and keeps what
        // the full one holds at those places.
        let full = Result { () throws(BerthError) in try JSONValue(parsingUTF8: bytes) }
        let kept = Result { () throws(BerthError) in try JSONValue(parsingUTF8: bytes, keeping: OCIBundleConfig.read) }
        switch (full, kept) {
        case (.failure(let a), .failure(let b)) where a.message != b.message:
            return "the projected parse refuses with \(b.message.debugDescription), the full one with \(a.message.debugDescription)"
        case (.success, .failure(let error)):
            return "the projected parse refuses what the full one accepts: \(error.message)"
        case (.failure(let error), .success):
            return "the projected parse accepts what the full one refuses: \(error.message)"
        case (.success(let a), .success(let b)):
            for path in [["annotations"], ["linux", "namespaces"], ["process", "env"]] {
                let whole = path.reduce(Optional(a)) { $0?[$1] }, projected = path.reduce(Optional(b)) { $0?[$1] }
                guard whole == projected else {
                    return "the projected parse keeps \(String(describing: projected?.render())) at \(path), the full one has \(String(describing: whole?.render()))"
                }
            }
            // A value the projection expects to be an object but is not is kept whole: the
            // root, "linux" and "process" are what they are in the full parse.
            for path in [[], ["linux"], ["process"]] {
                let whole = path.reduce(Optional(a)) { $0?[$1] }, projected = path.reduce(Optional(b)) { $0?[$1] }
                if case .object? = whole { continue }
                guard whole == projected else {
                    return "the projected parse keeps \(String(describing: projected?.render())) at \(path), the full one has \(String(describing: whole?.render()))"
                }
            }
        default:
            break
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
