// libFuzzer entry for what berth-oci-hook reads from other programs: the container state
// on stdin, a bundle's config.json, the berth.* annotations in them, and the docker
// wrapper's rewrite of config.json. Built by scripts/fuzz-oci-hook together with BerthCore
// and the BerthOCIHook decoders, all instrumented (-sanitize=fuzzer,address). The property
// itself is OCIHookFuzzProperty (Fuzz/Properties), which BerthOCIHookTests also replays on
// every file of Fuzz/corpus/oci-hook.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOCIHook(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if let violation = OCIHookFuzzProperty.violation(Array(UnsafeBufferPointer(start: data, count: size))) {
        fatalError(violation)
    }
    return 0
}
