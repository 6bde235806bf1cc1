import Foundation
import StreamRecCore

@testable import StreamRecServe

/// Parses the Prometheus text format into `name{labels}` → value (comments skipped).
func parsePrometheus(_ text: String) -> [String: Double] {
    var out: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " ") else { continue }
        out[String(line[..<space])] = Double(line[line.index(after: space)...])
    }
    return out
}

/// The key ``parsePrometheus(_:)`` uses for a sample.
func key(_ name: String, _ labels: [(String, String)] = []) -> String {
    labels.isEmpty ? name : name + "{" + labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",") + "}"
}
