import BerthCore
import BerthLab
import BerthLabFile

/// What must hold for any bytes given as a lab file: the parser returns a spec or a
/// `BerthError` (never a crash, a hang or unbounded memory, which the fuzzer and the test
/// process catch themselves), every refusal names the file first, as `SOURCE:` or
/// `SOURCE:LINE:COLUMN:`, and every accepted spec reads back from the JSON the state keeps
/// (`LabSpec(json: spec.json)`, validated) as the same spec. Checked by the libFuzzer entry (scripts/fuzz-lab), by the
/// replayer on the files it is given, and by BerthLabTests on every file of Fuzz/lab-corpus.
enum LabFileFuzzProperty {
    /// nil when the property holds for `text` parsed under the name `source`, else what broke.
    static func violation(_ text: String, source: String) -> String? {
        do {
            return violation(roundTrip: try LabFileParser.parse(text, source: source))
        } catch {
            return violation(error, source: source)
        }
    }

    /// nil when `spec` reads back from its JSON, validated, as the same spec but for file
    /// positions (which the JSON does not keep): what `up` records, `down` and gc must read.
    static func violation(roundTrip spec: LabSpec) -> String? {
        do throws(BerthError) {
            let back = try LabSpec(json: spec.json)
            return back == spec.withoutLocations() ? nil : "an accepted spec reads back from its JSON as another: \(spec.json.render()) became \(back.json.render())"
        } catch {
            return "an accepted spec does not read back from its JSON: \(error)"
        }
    }


    /// nil when `error`, a refusal of the file `source`, names that file first.
    static func violation(_ error: BerthError, source: String) -> String? {
        error.message.hasPrefix("\(source):") ? nil : "error without the file's name first (\(source):): \(error)"
    }
}
