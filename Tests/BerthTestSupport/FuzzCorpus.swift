import Foundation
import Testing

/// The fuzzers' committed corpora (Fuzz/corpus/*, Fuzz/lab-corpus), for tests that replay
/// every input through the fuzz property, so that what the fuzzers once found stays fixed
/// without running a fuzzer.
public enum FuzzCorpus {
    /// The package's root, from this file's place in it (Tests/BerthTestSupport/).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Every regular file directly in `directory` (relative to the package root), sorted by
    /// name, with its bytes. Throws when the directory cannot be read: a moved corpus is a
    /// failure, never zero cases.
    public static func files(_ directory: String) throws -> [(name: String, bytes: [UInt8])] {
        let url = root.appendingPathComponent(directory)
        let names = try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
        var files: [(name: String, bytes: [UInt8])] = []
        for name in names {
            let file = url.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            files.append((name, [UInt8](try Data(contentsOf: file))))
        }
        return files
    }

    /// Runs every file of `directory` through `property` (nil when the property holds, else
    /// the violation), recording an issue per violating file and failing when the corpus is
    /// empty or cannot be read.
    public static func replay(_ directory: String, sourceLocation: SourceLocation = #_sourceLocation,
                              _ property: ([UInt8]) -> String?) throws {
        let files = try files(directory)
        try #require(files.count > 0, "\(directory) is empty", sourceLocation: sourceLocation)
        for file in files {
            if let violation = property(file.bytes) {
                Issue.record("\(directory)/\(file.name): \(violation)", sourceLocation: sourceLocation)
            }
        }
    }
}
