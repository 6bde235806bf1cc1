import Foundation
import StreamRecTestSupport

@testable import StreamRecCore

extension TestPaths {
    /// A file from the test target's `Fixtures` resource directory.
    static func fixture(_ name: String) throws -> String {
        let url = URL(fileURLWithPath: name)
        guard
            let found = Bundle.module.url(
                forResource: url.deletingPathExtension().lastPathComponent,
                withExtension: url.pathExtension.isEmpty ? nil : url.pathExtension,
                subdirectory: "Fixtures"
            )
        else { throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: name]) }
        return found.path
    }
}

/// Random but reproducible test inputs.
struct RandomInputs {
    var rng: RandomSource

    init(seed: UInt64) { rng = RandomSource(seed: seed) }

    /// Characters that stress escaping: quotes, backslashes, control characters, separators, non-BMP.
    static let alphabet: [Character] = Array("abcXYZ019 _-:/.,\"\\\t\n\r\u{1}\u{1F}é中\u{2028}😀𝄞")

    mutating func id(maxLength: Int = 12) -> String {
        String(
            (0..<1 + rng.nextInt(below: maxLength)).map { _ in Self.alphabet[rng.nextInt(below: Self.alphabet.count)] }
        )
    }

    mutating func event() -> Event {
        Event(
            user: id(),
            item: id(),
            timestamp: Int64(rng.nextInt(below: Int(EventLimits.maxTimestamp))),
            type: rng.nextInt(below: 2) == 0
                ? nil : ["view", "click", "purchase", "rating", id(maxLength: 8)][rng.nextInt(below: 5)],
            weight: rng.nextInt(below: 2) == 0 ? nil : randomWeight()
        )
    }

    mutating func randomWeight() -> Float {
        switch rng.nextInt(below: 3) {
        case 0: Float(rng.nextInt(below: 6))
        case 1: rng.nextUnitFloat()
        default: rng.nextUnitFloat() * 1000
        }
    }
}

extension EventDecodingError.Reason {
    /// The case name, for asserting the kind of failure without pinning offsets or wording.
    var kind: String { String(String(describing: self).prefix { $0 != "(" }) }
}
