// libFuzzer harness for the DNS codec and the resolver engine (scripts/fuzz-dns builds it).
// The property — parsing throws or succeeds, round trips keep the message, answers fit and
// parse, FORMERR parses, framing does not depend on how bytes arrive — is DNSFuzzProperty
// (Fuzz/Properties), which BerthDNSTests also replays on every file of Fuzz/corpus/dns.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if let violation = DNSFuzzProperty.violation(Array(UnsafeBufferPointer(start: data, count: size))) {
        fatalError(violation)
    }
    return 0
}
