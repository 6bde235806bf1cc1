import Foundation

/// Item side information for cold start: each catalog item's TF-IDF vector over its tokens, with an
/// inverted index so "which known items are most like this new one?" touches only shared tokens.
///
/// Catalog file: JSON Lines, one object per item, `{"item": "...", "attributes": {...}, "text": "..."}`
/// (`attributes` and `text` optional). Attribute values become `key=value` tokens (arrays give one token
/// per element); `text` is lower-cased and split on non-alphanumerics (tokens shorter than 2 dropped).
///
/// A catalog is an input of the learner, like the event log: it is not stored in snapshots, so a resumed
/// learner must be given the same catalog (``fingerprint`` is compared by `==`).
public struct ItemCatalog: Sendable {
    private var indexOf: [String: Int32] = [:]
    /// Item id per entry.
    public private(set) var ids: [String] = []
    /// Sparse L2-normalized TF-IDF vectors, concatenated; entry `e` spans `offsets[e]..<offsets[e+1]`.
    private var terms: [Int32] = []
    private var weights: [Float] = []
    private var offsets: [Int] = [0]
    /// Per term: (entry, weight) postings.
    private var postings: [[(entry: Int32, weight: Float)]] = []
    /// FNV-1a over the entries' ids and tokens, in file order.
    public private(set) var fingerprint: UInt64 = 0

    public var count: Int { ids.count }

    /// Builds the index from (item, tokens) pairs; a repeated item keeps its first entry.
    public init(entries: [(item: String, tokens: [String])]) {
        var vocabulary: [String: Int32] = [:]
        var docs: [[Int32: Float]] = []
        var canonical = ""
        for (item, tokens) in entries where indexOf[item] == nil && !item.isEmpty {
            indexOf[item] = Int32(ids.count)
            ids.append(item)
            var tf: [Int32: Float] = [:]
            for t in tokens {
                let id =
                    vocabulary[t]
                    ?? {
                        let n = Int32(vocabulary.count)
                        vocabulary[t] = n
                        return n
                    }()
                tf[id, default: 0] += 1
            }
            docs.append(tf)
            canonical += item + "\t" + tokens.joined(separator: " ") + "\n"
        }
        fingerprint = StableHash.fnv1a64(canonical)
        var df = [Int](repeating: 0, count: vocabulary.count)
        for d in docs { for t in d.keys { df[Int(t)] += 1 } }
        let n = Double(docs.count)
        postings = Array(repeating: [], count: vocabulary.count)
        for (e, d) in docs.enumerated() {
            // Sorted by term id so the stored vectors (and floating-point sums) are deterministic.
            let sorted = d.sorted { $0.key < $1.key }
            var vec = sorted.map { t, c in
                Float((1 + Foundation.log(Double(c))) * (Foundation.log((n + 1) / Double(df[Int(t)] + 1)) + 1))
            }
            let norm = vec.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm > 0 { vec = vec.map { $0 / norm } }
            for (idx, (t, _)) in sorted.enumerated() {
                terms.append(t)
                weights.append(vec[idx])
                postings[Int(t)].append((Int32(e), vec[idx]))
            }
            offsets.append(terms.count)
        }
    }

    /// Tokens of one catalog record (see the type's documentation).
    public static func tokens(attributes: [String: Any], text: String?) -> [String] {
        var out: [String] = []
        for key in attributes.keys.sorted() {
            let k = key.lowercased()
            func add(_ v: Any) {
                switch v {
                case let s as String: out.append("\(k)=\(s.lowercased())")
                // Numbers and booleans (NSNumber on every platform) by their description.
                case let n as NSNumber: out.append("\(k)=\(n)")
                case let a as [Any]: a.forEach(add)
                default: break
                }
            }
            add(attributes[key]!)
        }
        if let text {
            let words = text.lowercased().split { !($0.isLetter || $0.isNumber) }
            out.append(contentsOf: words.filter { $0.count >= 2 }.map(String.init))
        }
        return out
    }

    /// Reads a JSONL catalog. Malformed lines are skipped and counted, like malformed events.
    public static func load(path: String) throws -> (catalog: ItemCatalog, malformed: Int) {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var entries: [(item: String, tokens: [String])] = []
        var malformed = 0
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.allSatisfy({ $0 == 32 || $0 == 13 }) {
            guard let obj = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any],
                let item = obj["item"] as? String, !item.isEmpty
            else {
                malformed += 1
                continue
            }
            let attributes = obj["attributes"] as? [String: Any] ?? [:]
            entries.append((item, tokens(attributes: attributes, text: obj["text"] as? String)))
        }
        return (ItemCatalog(entries: entries), malformed)
    }

    public func contains(_ item: String) -> Bool { indexOf[item] != nil }

    /// Cosine similarity of two catalog items' TF-IDF vectors (0 when either is unknown).
    public func similarity(_ a: String, _ b: String) -> Float {
        guard let ea = indexOf[a], let eb = indexOf[b] else { return 0 }
        var i = offsets[Int(ea)]
        var j = offsets[Int(eb)]
        let ie = offsets[Int(ea) + 1]
        let je = offsets[Int(eb) + 1]
        var sum: Float = 0
        while i < ie && j < je {
            if terms[i] == terms[j] {
                sum += weights[i] * weights[j]
                i += 1
                j += 1
            } else if terms[i] < terms[j] {
                i += 1
            } else {
                j += 1
            }
        }
        return sum
    }

    /// The `limit` catalog items most similar to `item` (cosine > 0) for which `resolve` returns a slot
    /// (e.g. items the model already knows), best first; ties go to the lower slot.
    public func mostSimilar(to item: String, limit: Int, resolve: (String) -> Int32?) -> [ScoredIndex] {
        guard let e = indexOf[item], limit > 0 else { return [] }
        var scores: [Int32: Float] = [:]
        for p in offsets[Int(e)]..<offsets[Int(e) + 1] {
            let w = weights[p]
            for (other, ow) in postings[Int(terms[p])] where other != e { scores[other, default: 0] += w * ow }
        }
        var selector = TopKSelector(k: limit)
        // Entries in index order so the float sums above are the only order-dependent part (and they're
        // summed in the item's term order, which is fixed).
        for (other, s) in scores.sorted(by: { $0.key < $1.key }) where s > 0 {
            if let slot = resolve(ids[Int(other)]) { selector.offer(ScoredIndex(index: slot, score: s)) }
        }
        return selector.sorted()
    }
}

extension ItemCatalog: Equatable {
    /// Catalogs are equal when built from the same entries (compared by fingerprint).
    public static func == (a: ItemCatalog, b: ItemCatalog) -> Bool {
        a.fingerprint == b.fingerprint && a.count == b.count
    }
}
