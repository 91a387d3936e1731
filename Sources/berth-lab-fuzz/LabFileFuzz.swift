// berth-lab-fuzz: the lab file parser under libFuzzer. Lab files are input from users and
// get shared, so the parser must turn any bytes into a spec or a BerthError, never a crash,
// a hang or unbounded memory.
//
//   scripts/fuzz-lab [SECONDS]      builds with -sanitize=fuzzer,address and runs on Fuzz/lab-corpus
//
// Built normally (without -DFUZZING) it replays files: `berth-lab-fuzz FILE...` parses each
// and prints the outcome, to reproduce what the fuzzer found.
import BerthCore
import BerthLabFile

#if FUZZING
/// libFuzzer's entry for one input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLabFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        _ = try LabFileParser.parse(text, source: "fuzz.yaml")
    } catch {
        // Every refusal names the file: a message without it would be a bug.
        precondition(error.message.hasPrefix("fuzz.yaml"), "error without a location: \(error)")
    }
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
/// Replays files through the parser and prints each outcome.
@main
enum LabFileReplay {
    static func main() {
        for path in CommandLine.arguments.dropFirst() {
            do {
                let (spec, _) = try LabFileParser.parse(path: path)
                print("\(path): lab \(spec.name), \(spec.nodes.count) nodes, \(spec.links.count) links")
            } catch {
                print("\(path): \(error)")
            }
        }
    }
}
#endif
