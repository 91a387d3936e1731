// libFuzzer target for berth-cni's input path: stdin bytes → JSON → network configuration
// → prevResult and port mappings, as the plugin decodes them (no kernel, no state).
// Built and run by scripts/fuzz; crashes, hangs, leaks and broken round trips are findings.
// The property itself is CNIFuzzProperty (Fuzz/Properties), which BerthCNITests also
// replays on every file of Fuzz/corpus/cni; scripts/fuzz compiles both into one module.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCNI(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if let violation = CNIFuzzProperty.violation(Array(UnsafeBufferPointer(start: data, count: size))) {
        fatalError(violation)
    }
    return 0
}
