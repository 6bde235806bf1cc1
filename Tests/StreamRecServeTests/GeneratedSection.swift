import Foundation
import StreamRecTestSupport
import Testing

/// A part of a checked-in file generated from code, between two marker lines.
enum GeneratedSection {
    /// Expects the text between `begin` and `end` in `file` to be `expected`; with `UPDATE_DOCS=1` rewrites it.
    static func check(file: String, begin: String, end: String, expected: String) throws {
        let path = TestPaths.packageRoot.appendingPathComponent(file).path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let head = try #require(text.range(of: begin), "\(file): no '\(begin)'")
        let tail = try #require(text.range(of: end, range: head.upperBound..<text.endIndex), "\(file): no '\(end)'")
        if ProcessInfo.processInfo.environment["UPDATE_DOCS"] == "1" {
            try (String(text[..<head.upperBound]) + expected + String(text[tail.lowerBound...]))
                .write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        #expect(String(text[head.upperBound..<tail.lowerBound]) == expected, "\(file): run the test with UPDATE_DOCS=1")
    }
}
