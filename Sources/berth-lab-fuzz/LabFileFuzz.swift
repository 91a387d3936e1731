// berth-lab-fuzz: the lab file parser under libFuzzer. Lab files are input from users and
// get shared, so the parser must turn any bytes into a spec or a BerthError, never a crash,
// a hang or unbounded memory.
//
//   scripts/fuzz-lab [SECONDS]      builds with -sanitize=fuzzer,address and runs on Fuzz/lab-corpus
//
// Built normally (without -DFUZZING) it replays files: `berth-lab-fuzz FILE...` parses each,
// prints the outcome and checks the same property (LabFileFuzzProperty), to reproduce what
// the fuzzer found; it exits 1 on a violation.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthLab
import BerthLabFile

#if FUZZING
/// libFuzzer's entry for one input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLabFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    // Every refusal names the file: a message without it would be a bug.
    if let violation = LabFileFuzzProperty.violation(text, source: "fuzz.yaml") { fatalError(violation) }
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

/// SwiftPM links every executable with its main renamed to `<target>_main` (and `main`
/// pointing there), so the program's main hands over to libFuzzer's driver.
@_cdecl("berth_lab_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in fuzzLabFile(data, size) }
}
#else
/// Replays files through the parser, prints each outcome and checks the fuzz property:
/// exits 1 when a refusal does not name its file first or an accepted spec does not read
/// back from its JSON (a file that cannot be read is reported, not a violation).
@main
enum LabFileReplay {
    static func main() {
        var violations = 0
        for path in CommandLine.arguments.dropFirst() {
            do {
                let (spec, _) = try LabFileParser.parse(path: path)
                print("\(path): lab \(spec.name), \(spec.nodes.count) nodes, \(spec.links.count) links")
                if let violation = LabFileFuzzProperty.violation(roundTrip: spec) {
                    print("\(path): VIOLATION: \(violation)")
                    violations += 1
                }
            } catch {
                print("\(path): \(error)")
                let unreadable = (error.code == .notFound || error.code == .system) && error.object == .file(path)
                if !unreadable, let violation = LabFileFuzzProperty.violation(error, source: path) {
                    print("\(path): VIOLATION: \(violation)")
                    violations += 1
                }
            }
        }
        if violations > 0 { exit(1) }
    }
}
#endif
