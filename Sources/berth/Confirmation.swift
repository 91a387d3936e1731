#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
/// write(2) under a name no member here shadows, from Glibc or Musl alike.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, buffer, count) }

/// A yes/no question before a command that removes things, as docker asks it.
enum Confirmation {
    /// Writes `question` on stderr (stdout stays the command's output) and reads one line
    /// from stdin: `y` or `yes`, in any case and with blanks around, confirms; anything
    /// else, or end of input (a stdin that is no terminal and holds no answer), does not.
    static func ask(_ question: String) -> Bool {
        write(question)
        guard let answer = readLine(strippingNewline: true) else {
            write("\n")
            return false
        }
        return isYes(answer)
    }

    static func isYes(_ answer: String) -> Bool {
        let word = String(answer.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed()).lowercased()
        return word == "y" || word == "yes"
    }

    private static func write(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { systemWrite(2, $0.baseAddress, $0.count) }
    }
}
