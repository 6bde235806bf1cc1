import Foundation

/// A span of event time as text: a number with an optional unit (ms, s, m, h, d; bare numbers are
/// milliseconds), e.g. `90s`, `6h`, `2d`.
public enum EventTimeSpan {
    public static func milliseconds(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        var number = trimmed
        var scale: Int64 = 1
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            let head = String(trimmed.dropLast(suffix.count))
            if Double(head) != nil {
                number = head
                scale = factor
                break
            }
        }
        guard let value = Double(number), value >= 0, value * Double(scale) < 9e18 else { return nil }
        return Int64((value * Double(scale)).rounded())
    }
}
