import Foundation

/// One recommended item and the model's score for it (higher is better).
public struct ScoredItem: Sendable, Hashable {
    public var item: String
    public var score: Float
    /// With exploration on: the probability that the policy placed this item in this slot
    /// (see ``ExplorationPropensity``); nil (omitted on the wire) otherwise.
    public var propensity: Double?
    /// With exploration on: the probability that the policy put this item anywhere in the list.
    public var listPropensity: Double?

    public init(item: String, score: Float, propensity: Double? = nil, listPropensity: Double? = nil) {
        self.item = item
        self.score = score
        self.propensity = propensity
        self.listPropensity = listPropensity
    }
}

/// A position in a Kafka topic-partition. On a recommendation list: the message that triggered it, so
/// consumers can trace and de-duplicate output; in a snapshot (``SourcePosition``): the next offset to
/// consume.
public struct SourceOffset: Sendable, Hashable, Codable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}

/// A user's top-K as produced to the recommendations topic (`schemas/recommendations.schema.json`).
///
/// Wire names: `user`, `items` [{`item`, `score`, optional `propensity`, `list_propensity`}], `model_version`, `ts`, optional `source_offset`
/// {`topic`, `partition`, `offset`} and `fallback`. Optional fields are omitted when nil.
public struct RecommendationList: Sendable, Equatable {
    public var user: String
    /// Best first.
    public var items: [ScoredItem]
    /// Identifies the model (snapshot version) that scored the items.
    public var modelVersion: String
    /// Milliseconds since the epoch when the list was computed.
    public var timestamp: Int64
    public var sourceOffset: SourceOffset?
    /// Set when the list doesn't come from the user's factors, e.g. `"popularity"` for an unknown user.
    public var fallback: String?

    public init(
        user: String,
        items: [ScoredItem],
        modelVersion: String,
        timestamp: Int64,
        sourceOffset: SourceOffset? = nil,
        fallback: String? = nil
    ) {
        self.user = user
        self.items = items
        self.modelVersion = modelVersion
        self.timestamp = timestamp
        self.sourceOffset = sourceOffset
        self.fallback = fallback
    }

    /// JSON has no NaN or infinity, and a diverged score must not break every consumer of the topic, so
    /// the encoder clamps: ±infinity → ±`Float.greatestFiniteMagnitude`, NaN → `-greatestFiniteMagnitude`
    /// (ranks last). Model health is monitored elsewhere; the message stays valid.
    public static func wireScore(_ score: Float) -> Float {
        if score.isFinite { return score }
        if score.isNaN { return -.greatestFiniteMagnitude }
        return score > 0 ? .greatestFiniteMagnitude : -.greatestFiniteMagnitude
    }

    /// Compact JSON, hand-written because it runs once per event on the serving path.
    public func jsonBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(96 + items.count * 32)
        appendJSON(to: &out)
        return out
    }

    /// Appends the JSON document to `out`, so a producer loop can reuse one buffer.
    public func appendJSON(to out: inout [UInt8]) {
        Self.appendJSON(
            user: user,
            modelVersion: modelVersion,
            timestamp: timestamp,
            sourceOffset: sourceOffset,
            fallback: fallback,
            to: &out
        ) { emit in
            for scored in items { emit(scored.item, scored.score, scored.propensity, scored.listPropensity) }
        }
    }

    /// The one JSON writer of a list, from its parts: `items` calls `emit(item, score, propensity,
    /// listPropensity)` once per item, best first. Lets a caller encode ranked slots straight into a
    /// reused buffer without building a ``RecommendationList`` (no allocation once `out` has capacity,
    /// and none here: integers are written digit by digit; only a non-nil propensity is formatted
    /// through `Double.description`). Pure Swift standard library, no Foundation.
    public static func appendJSON(
        user: String,
        modelVersion: String,
        timestamp: Int64,
        sourceOffset: SourceOffset?,
        fallback: String?,
        to out: inout [UInt8],
        items: (_ emit: (String, Float, Double?, Double?) -> Void) -> Void
    ) {
        out.append(contentsOf: #"{"user":"#.utf8)
        JSONOutput.appendString(user, to: &out)
        out.append(contentsOf: #","items":["#.utf8)
        var first = true
        items { item, score, propensity, listPropensity in
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(contentsOf: #"{"item":"#.utf8)
            JSONOutput.appendString(item, to: &out)
            out.append(contentsOf: #","score":"#.utf8)
            JSONOutput.appendFloat(wireScore(score), to: &out)
            if let p = propensity, p.isFinite {
                out.append(contentsOf: #","propensity":"#.utf8)
                out.append(contentsOf: p.description.utf8)
            }
            if let p = listPropensity, p.isFinite {
                out.append(contentsOf: #","list_propensity":"#.utf8)
                out.append(contentsOf: p.description.utf8)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: #"],"model_version":"#.utf8)
        JSONOutput.appendString(modelVersion, to: &out)
        out.append(contentsOf: #","ts":"#.utf8)
        JSONOutput.appendInteger(timestamp, to: &out)
        if let sourceOffset {
            out.append(contentsOf: #","source_offset":{"topic":"#.utf8)
            JSONOutput.appendString(sourceOffset.topic, to: &out)
            out.append(contentsOf: #","partition":"#.utf8)
            JSONOutput.appendInteger(Int64(sourceOffset.partition), to: &out)
            out.append(contentsOf: #","offset":"#.utf8)
            JSONOutput.appendInteger(sourceOffset.offset, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        if let fallback {
            out.append(contentsOf: #","fallback":"#.utf8)
            JSONOutput.appendString(fallback, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Decodes a document produced by ``jsonBytes()`` (or any producer following the schema). Not on a
    /// hot path, so it uses `JSONSerialization`; unknown members are ignored.
    public init(jsonBytes: [UInt8]) throws(RecommendationDecodingError) {
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: Data(jsonBytes)) as? [String: Any] else {
                throw RecommendationDecodingError("document is not a JSON object")
            }
            object = parsed
        } catch let error as RecommendationDecodingError {
            throw error
        } catch {
            throw RecommendationDecodingError("malformed JSON")
        }
        let items = try JSONField.array(object, "items")
        self.init(
            user: try JSONField.string(object, "user"),
            items: try items.enumerated().map { (index, element) throws(RecommendationDecodingError) in
                guard let entry = element as? [String: Any] else {
                    throw RecommendationDecodingError("items[\(index)] is not an object")
                }
                return ScoredItem(
                    item: try JSONField.string(entry, "item", path: "items[\(index)]."),
                    score: try JSONField.float(entry, "score", path: "items[\(index)]."),
                    propensity: try JSONField.probability(entry, "propensity", path: "items[\(index)]."),
                    listPropensity: try JSONField.probability(entry, "list_propensity", path: "items[\(index)].")
                )
            },
            modelVersion: try JSONField.string(object, "model_version"),
            timestamp: try JSONField.integer(object, "ts", in: 0...Int64.max)
        )
        if let offset = object["source_offset"], !(offset is NSNull) {
            guard let offset = offset as? [String: Any] else {
                throw RecommendationDecodingError("source_offset is not an object")
            }
            sourceOffset = SourceOffset(
                topic: try JSONField.string(offset, "topic", path: "source_offset."),
                partition: Int32(
                    try JSONField.integer(offset, "partition", in: 0...Int64(Int32.max), path: "source_offset.")
                ),
                offset: try JSONField.integer(offset, "offset", in: 0...Int64.max, path: "source_offset.")
            )
        }
        if let fallback = object["fallback"], !(fallback is NSNull) {
            self.fallback = try JSONField.string(object, "fallback")
        }
    }
}

public struct RecommendationDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Typed member access over `JSONSerialization` output (which represents booleans as NSNumber).
private enum JSONField {
    static func value(_ object: [String: Any], _ key: String, path: String) throws(RecommendationDecodingError) -> Any {
        guard let value = object[key], !(value is NSNull) else {
            throw RecommendationDecodingError("missing field '\(path)\(key)'")
        }
        return value
    }

    static func string(
        _ object: [String: Any],
        _ key: String,
        path: String = ""
    ) throws(RecommendationDecodingError) -> String {
        guard let string = try value(object, key, path: path) as? String else {
            throw RecommendationDecodingError("field '\(path)\(key)' must be a string")
        }
        return string
    }

    static func array(_ object: [String: Any], _ key: String) throws(RecommendationDecodingError) -> [Any] {
        guard let array = try value(object, key, path: "") as? [Any] else {
            throw RecommendationDecodingError("field '\(key)' must be an array")
        }
        return array
    }

    static func number(
        _ object: [String: Any],
        _ key: String,
        path: String
    ) throws(RecommendationDecodingError) -> NSNumber {
        guard let number = try value(object, key, path: path) as? NSNumber,
            String(cString: number.objCType) != "c"  // booleans
        else { throw RecommendationDecodingError("field '\(path)\(key)' must be a number") }
        return number
    }

    static func integer(
        _ object: [String: Any],
        _ key: String,
        in range: ClosedRange<Int64>,
        path: String = ""
    ) throws(RecommendationDecodingError) -> Int64 {
        let number = try number(object, key, path: path)
        let value: Int64?
        switch String(cString: number.objCType) {
        case "d", "f":
            let double = number.doubleValue
            value = double.rounded() == double ? Int64(exactly: double) : nil
        case "Q":
            value = Int64(exactly: number.uint64Value)
        default:
            value = number.int64Value
        }
        guard let value, range.contains(value) else {
            throw RecommendationDecodingError(
                "field '\(path)\(key)' must be an integer in \(range.lowerBound)...\(range.upperBound)"
            )
        }
        return value
    }

    /// An optional number in [0, 1].
    static func probability(
        _ object: [String: Any],
        _ key: String,
        path: String
    ) throws(RecommendationDecodingError) -> Double? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        let p = try number(object, key, path: path).doubleValue
        guard p >= 0 && p <= 1 else { throw RecommendationDecodingError("field '\(path)\(key)' must be in [0, 1]") }
        return p
    }

    static func float(_ object: [String: Any], _ key: String, path: String) throws(RecommendationDecodingError) -> Float
    {
        let value = Float(try number(object, key, path: path).doubleValue)
        guard value.isFinite else {
            throw RecommendationDecodingError("field '\(path)\(key)' is outside the Float range")
        }
        return value
    }
}
