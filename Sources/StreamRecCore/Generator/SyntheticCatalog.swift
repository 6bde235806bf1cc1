import Foundation

extension SyntheticLogGenerator {
    /// A JSONL item catalog (see ``ItemCatalog``) consistent with the planted topics: each item's
    /// `category` is its topic with probability 0.8 (else a random one), its `brand` is random, and its
    /// `text` has 4 words, each from its topic's vocabulary with probability 0.7 (else from any topic).
    /// So TF-IDF similarity is informative about the latent structure, but noisy. Deterministic per seed.
    public func catalogLines() -> [String] {
        var rng = RandomSource(seed: config.seed ^ 0xCA7A_1065)
        let wordsPerTopic = 8
        return (0..<config.items).map { item in
            let topic = itemTopic[item]
            let category = rng.nextUnitDouble() < 0.8 ? topic : rng.nextInt(below: config.topics)
            let brand = rng.nextInt(below: 50)
            let words = (0..<4).map { _ -> String in
                let t = rng.nextUnitDouble() < 0.7 ? topic : rng.nextInt(below: config.topics)
                return "w\(t)x\(rng.nextInt(below: wordsPerTopic))"
            }
            return
                #"{"item":"\#(Self.itemID(item))","attributes":{"category":"c\#(category)","brand":"b\#(brand)"},"text":"\#(words.joined(separator: " "))"}"#
        }
    }

    /// Writes ``catalogLines()`` to `path`.
    public func writeCatalog(to path: String) throws {
        try (catalogLines().joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
}
