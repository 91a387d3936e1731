extension String {
    /// Whether `fragment`'s UTF-8 bytes occur in this string's: what `contains(_: String)`
    /// answers for the ASCII text it is used on (kernel messages, hints, identifiers).
    /// `contains(_: String)` itself belongs to _StringProcessing, and one call to it links
    /// the regex engine into the binary: ≈ 1 MB of code and 46 KiB of data that ld.so
    /// relocates at every start (docs/performance.md, perf7).
    package func containsBytes(of fragment: String) -> Bool {
        let needle = Array(fragment.utf8), haystack = Array(utf8)
        guard needle.count <= haystack.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start..<start + needle.count].elementsEqual(needle) {
            return true
        }
        return false
    }
}
