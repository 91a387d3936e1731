/// The one rule for short endpoint ids, shared by what lists endpoints and what takes an id.
///
/// A generated id (64 lowercase hex digits, as Docker's container ids) is shown by its first
/// 12 digits; any other id — one given with `--id` — is shown in full. An id is taken back
/// in full, or, for a generated id only, by a start of 12 or more of its hex digits that is
/// no other generated id's start. Nothing else is read as a prefix: a short custom id ("c1")
/// detached twice by a runtime never reaches another endpoint ("c10"), and a short hex word
/// is not the start of some random generated id.
public enum EndpointShortID {
    /// How many hex digits a generated id is shown by.
    public static let length = 12

    /// `id` as lists show it: its first 12 digits if it is a generated id, else all of it.
    public static func display(_ id: String) -> String {
        isGenerated(id) ? String(id.prefix(length)) : id
    }

    /// Whether `id` has a generated id's form: 64 lowercase hex digits.
    public static func isGenerated(_ id: String) -> Bool {
        id.utf8.count == 64 && isHex(id)
    }

    /// Whether `text` can stand for a generated id it starts: 12 to 63 lowercase hex digits.
    public static func isPrefix(_ text: String) -> Bool {
        (length..<64).contains(text.utf8.count) && isHex(text)
    }

    private static func isHex(_ text: String) -> Bool {
        text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
