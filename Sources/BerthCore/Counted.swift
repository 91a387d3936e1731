/// A count and its noun for the front ends' summaries, in the singular for one:
/// `1 change`, `3 changes`, `1 problem found`.
package enum Counted {
    /// `count` and `noun`, or `plural` (default: `noun` + "s") unless `count` is 1.
    package static func text(_ count: Int, _ noun: String, plural: String? = nil) -> String {
        "\(count) " + (count == 1 ? noun : plural ?? noun + "s")
    }
}
