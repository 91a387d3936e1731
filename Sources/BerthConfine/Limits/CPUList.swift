public import BerthCore

/// A set of CPU (or memory node) numbers in the kernel's list format: `0-3,5`, as
/// `--cpuset-cpus` takes it and `cpuset.cpus` holds it.
public struct CPUList: Sendable, Hashable, CustomStringConvertible {
    /// The numbers, ascending, without duplicates.
    public let members: [Int]

    /// The most a list may name; the kernel's NR_CPUS is at most 8192.
    public static let limit = 8192

    /// The list of `numbers`, sorted and without duplicates.
    public init<S: Sequence>(_ numbers: S) where S.Element == Int {
        members = Array(Set(numbers)).sorted()
    }

    /// Parses `0-3,5` (commas between numbers or inclusive ranges; an empty text is the empty
    /// list, as an empty `cpuset.mems` reads). Whitespace around the text (a file's newline)
    /// is ignored.
    public init(parsing text: String, parameter: String = "cpusetCPUs") throws(BerthError) {
        // Only the ends: a space inside ("1 2") is no separator the kernel takes, and joining
        // the pieces would read it as CPU 12.
        let trimmed = String(text.drop(while: { $0 == "\n" || $0 == " " }).reversed().drop(while: { $0 == "\n" || $0 == " " }).reversed())
        var numbers: [Int] = []
        let fix = "write CPU numbers and ranges separated by commas, e.g. 0-3,5"
        if trimmed.isEmpty { self.init([]); return }
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), bounds.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }),
                  let low = Int(bounds[0]), let high = Int(bounds[bounds.count - 1]) else {
                throw .invalid("invalid CPU list \"\(text)\"", hint: fix, parameter: parameter)
            }
            guard low <= high else { throw .invalid("range \"\(part)\" in \"\(text)\" runs backwards", hint: fix, parameter: parameter) }
            guard high < Self.limit else {
                throw .invalid("CPU \(high) in \"\(text)\" is beyond the kernel's limit of \(Self.limit)", hint: fix, parameter: parameter)
            }
            numbers.append(contentsOf: low...high)
        }
        self.init(numbers)
    }

    /// Whether the list names no CPU.
    public var isEmpty: Bool { members.isEmpty }

    /// Whether every member is also in `other`.
    public func isSubset(of other: CPUList) -> Bool { Set(members).isSubset(of: Set(other.members)) }

    /// The members not in `other`.
    public func subtracting(_ other: CPUList) -> CPUList { CPUList(Set(members).subtracting(other.members)) }

    /// The kernel's list format: ranges where numbers run on (`0-3,5`).
    public var description: String {
        var parts: [String] = []
        var index = 0
        while index < members.count {
            var end = index
            while end + 1 < members.count, members[end + 1] == members[end] + 1 { end += 1 }
            parts.append(end == index ? "\(members[index])" : "\(members[index])-\(members[end])")
            index = end + 1
        }
        return parts.joined(separator: ",")
    }
}
