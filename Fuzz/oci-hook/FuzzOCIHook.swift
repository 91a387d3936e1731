// libFuzzer entry for what berth-oci-hook reads from other programs: the container state
// on stdin, a bundle's config.json, the berth.* annotations in them, and the docker
// wrapper's rewrite of config.json. Built by scripts/fuzz-oci-hook together with BerthCore
// and the BerthOCIHook decoders, all instrumented (-sanitize=fuzzer,address).
import BerthCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOCIHook(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let state = try? OCIState(parsing: bytes) {
        // What the decoder promises the rest of the hook.
        precondition(!state.id.isEmpty && state.id.utf8.count <= OCIState.maxIDLength)
        precondition(state.id.utf8.allSatisfy { $0 > 0x20 && $0 != 0x7F })
        precondition(state.pid.map { $0 > 0 } ?? true)
        if let request = try? HookAnnotations(state.annotations) {
            precondition(request.network.map { !$0.isEmpty } ?? true)
        }
    }
    if let config = try? OCIBundleConfig(parsing: bytes) {
        if case .path(let path) = config.networkNamespace { precondition(!path.isEmpty) }
    }
    if let json = try? JSONValue(parsingUTF8: bytes), let rewritten = try? RuntimeWrapper.rewrite(json, hookPath: "/h", hookEnvironment: []) {
        // The rewrite is idempotent and its output parses back to itself.
        precondition((try? RuntimeWrapper.rewrite(rewritten, hookPath: "/h", hookEnvironment: [])) == rewritten)
        precondition((try? JSONValue(parsing: rewritten.render())) == rewritten)
    }
    return 0
}
