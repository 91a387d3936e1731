import BerthCore
import BerthLabFile

/// What must hold for any bytes given as a lab file: the parser returns a spec or a
/// `BerthError` (never a crash, a hang or unbounded memory, which the fuzzer and the test
/// process catch themselves), and every refusal names the file first, as `SOURCE:` or
/// `SOURCE:LINE:COLUMN:`. Checked by the libFuzzer entry (scripts/fuzz-lab), by the
/// replayer on the files it is given, and by BerthLabTests on every file of Fuzz/lab-corpus.
enum LabFileFuzzProperty {
    /// nil when the property holds for `text` parsed under the name `source`, else what broke.
    static func violation(_ text: String, source: String) -> String? {
        do {
            _ = try LabFileParser.parse(text, source: source)
            return nil
        } catch {
            return violation(error, source: source)
        }
    }

    /// nil when `error`, a refusal of the file `source`, names that file first.
    static func violation(_ error: BerthError, source: String) -> String? {
        error.message.hasPrefix("\(source):") ? nil : "error without the file's name first (\(source):): \(error)"
    }
}
