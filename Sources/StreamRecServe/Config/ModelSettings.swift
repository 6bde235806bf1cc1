public import Configuration
import Foundation
public import StreamRecCore

/// One row per ``ModelConfig`` field: its key under `model.` in the config file, its command-line flag
/// (replay, tune, http-demo), its help text and how it is read and shown. The reader init below, the
/// environment names (`STREAMREC_MODEL_<KEY>`), the CLI flags, their help and the docs all come from this
/// one table, so a new field is added here once. Lives outside `StreamRecCore` so Core keeps no package
/// dependencies.
public struct ModelSetting: Sendable {
    /// Key under `model.` (snake_case), e.g. `learning_rate`.
    public let key: String
    /// Long command-line flag without dashes (e.g. `lr`); nil = file and environment only.
    public let flag: String?
    public let help: String
    /// Reads the key (default: the value already in the config) and stores it.
    let read: @Sendable (ConfigReader, inout ModelConfig) throws -> Void
    /// The field's value as the config file would spell it.
    public let show: @Sendable (ModelConfig) -> String

    /// `STREAMREC_MODEL_<KEY>`.
    public var environmentName: String { "STREAMREC_MODEL_" + key.uppercased() }
}

extension ModelSetting {
    static func int(
        _ key: String,
        _ path: any WritableKeyPath<ModelConfig, Int> & Sendable,
        flag: String?,
        _ help: String
    ) -> Self {
        Self(
            key: key,
            flag: flag,
            help: help,
            read: { r, c in c[keyPath: path] = r.int(forKey: ConfigKey(key), default: c[keyPath: path]) },
            show: { "\($0[keyPath: path])" }
        )
    }

    static func float(
        _ key: String,
        _ path: any WritableKeyPath<ModelConfig, Float> & Sendable,
        flag: String?,
        _ help: String
    ) -> Self {
        Self(
            key: key,
            flag: flag,
            help: help,
            read: { r, c in
                c[keyPath: path] = Float(r.double(forKey: ConfigKey(key), default: Double(c[keyPath: path])))
            },
            show: { "\($0[keyPath: path])" }
        )
    }

    static func double(
        _ key: String,
        _ path: any WritableKeyPath<ModelConfig, Double> & Sendable,
        flag: String?,
        _ help: String
    ) -> Self {
        Self(
            key: key,
            flag: flag,
            help: help,
            read: { r, c in c[keyPath: path] = r.double(forKey: ConfigKey(key), default: c[keyPath: path]) },
            show: { "\($0[keyPath: path])" }
        )
    }

    static func bool(
        _ key: String,
        _ path: any WritableKeyPath<ModelConfig, Bool> & Sendable,
        flag: String?,
        _ help: String
    ) -> Self {
        Self(
            key: key,
            flag: flag,
            help: help,
            read: { r, c in c[keyPath: path] = r.bool(forKey: ConfigKey(key), default: c[keyPath: path]) },
            show: { "\($0[keyPath: path])" }
        )
    }

    /// Read as text so the full UInt64 range works from YAML, environment and flags alike.
    static func uint64(
        _ key: String,
        _ path: any WritableKeyPath<ModelConfig, UInt64> & Sendable,
        flag: String?,
        _ help: String
    ) -> Self {
        Self(
            key: key,
            flag: flag,
            help: help,
            read: { r, c in
                guard let text = r.string(forKey: ConfigKey(key)) else { return }
                guard let value = UInt64(text.trimmingCharacters(in: .whitespaces)) else {
                    throw ServeConfigError("model.\(key) must be an integer in 0...\(UInt64.max), got '\(text)'")
                }
                c[keyPath: path] = value
            },
            show: { "\($0[keyPath: path])" }
        )
    }

    static func choice<E: RawRepresentable & CaseIterable & Sendable>(
        _ key: String,
        _ path: any WritableKeyPath<ModelConfig, E> & Sendable,
        flag: String?,
        _ help: String
    ) -> Self where E.RawValue == String {
        let names = E.allCases.map(\.rawValue).joined(separator: ", ")
        return Self(
            key: key,
            flag: flag,
            help: "\(help) One of: \(names).",
            read: { r, c in
                guard let text = r.string(forKey: ConfigKey(key)) else { return }
                guard let value = E(rawValue: text) else {
                    throw ServeConfigError("model.\(key) must be one of \(names), got '\(text)'")
                }
                c[keyPath: path] = value
            },
            show: { $0[keyPath: path].rawValue }
        )
    }

    /// Event-time span in milliseconds; text may carry a unit (`90s`, `6h`, `2d`), see ``EventTimeSpan``.
    static func span(
        _ key: String,
        _ path: any WritableKeyPath<ModelConfig, Int64> & Sendable,
        flag: String?,
        _ help: String
    ) -> Self {
        Self(
            key: key,
            flag: flag,
            help: "\(help) A number of milliseconds or with a unit: 90s, 30m, 6h, 2d.",
            read: { r, c in
                guard let text = r.string(forKey: ConfigKey(key)) else { return }
                guard let ms = EventTimeSpan.milliseconds(text) else {
                    throw ServeConfigError("model.\(key) must be a duration >= 0 (e.g. 0, 90s, 6h, 2d), got '\(text)'")
                }
                c[keyPath: path] = ms
            },
            show: { "\($0[keyPath: path])" }
        )
    }
}

/// The table. Order = order in docs and `--help`.
public enum ModelSettings {
    public static let all: [ModelSetting] = [
        .choice("ranker", \.ranker, flag: nil, "Scorer: the learned model or a baseline (replay: --model)."),
        .int("factors", \.factors, flag: "factors", "Latent factors (k). 1...1024."),
        .float("learning_rate", \.learningRate, flag: "lr", "SGD learning rate."),
        .float("regularization", \.regularization, flag: "reg", "L2 regularization."),
        .float("init_scale", \.initScale, flag: "init-scale", "Standard deviation of initial factors."),
        .int("negatives", \.negatives, flag: "negatives", "Sampled negatives per positive event. 0...1000."),
        .choice("negative_sampling", \.negativeSampling, flag: "sampling", "Negative sampling."),
        .choice("loss", \.loss, flag: "loss", "Loss: pairwise logistic (bpr) or squared error towards 1/0 (isgd)."),
        .bool("use_item_bias", \.useItemBias, flag: nil, "Learn a bias per item."),
        .uint64("seed", \.seed, flag: "seed", "RNG seed (model initialization and negative sampling)."),
        .int(
            "max_users",
            \.maxUsers,
            flag: "max-users",
            "Cap on live users (least recently active evicted beyond it)."
        ),
        .int("max_items", \.maxItems, flag: "max-items", "Cap on live items."),
        .int("history_length", \.historyLength, flag: "history", "Recent events kept per user."),
        .int(
            "max_seen_per_user",
            \.maxSeenPerUser,
            flag: nil,
            "Distinct consumed items remembered per user (excluded from lists)."
        ),
        .int(
            "popularity_window",
            \.popularityWindow,
            flag: nil,
            "Recent interactions kept for popularity negative sampling."
        ),
        .double(
            "exploration_epsilon",
            \.explorationEpsilon,
            flag: "epsilon",
            "ε-greedy exploration: probability each list slot is a random unconsumed item."
        ),
        .float(
            "uncertainty_bonus",
            \.uncertaintyBonus,
            flag: "uncertainty-bonus",
            "Uncertainty bonus β: score + β/sqrt(1 + item interactions)."
        ),
        .float("diversity_lambda", \.diversityLambda, flag: "mmr-lambda", "MMR diversity re-ranking λ (1 = off)."),
        .int(
            "diversity_candidates",
            \.diversityCandidates,
            flag: "mmr-candidates",
            "Candidates (top-M) re-ranked by MMR."
        ),
        .int(
            "sequence_context",
            \.sequenceContext,
            flag: "sequence-context",
            "Sequence-aware scoring: recent items used as context (0 = plain MF)."
        ),
        .int(
            "cold_start_user_events",
            \.coldStartUserEvents,
            flag: "cold-start-events",
            "Cold start: users with fewer interactions get recent popularity blended in (0 = off)."
        ),
        .float(
            "cold_start_popularity_weight",
            \.coldStartPopularityWeight,
            flag: "cold-start-weight",
            "Cold start: weight of log(1 + recent count) for a user with no interactions."
        ),
        .int(
            "cold_start_neighbors",
            \.coldStartNeighbors,
            flag: "cold-start-neighbors",
            "Cold start: similar known items averaged to initialize a new catalog item."
        ),
        .span(
            "popularity_half_life",
            \.popularityHalfLife,
            flag: "popularity-half-life",
            "Half-life of item popularity in event time (0 = never forget)."
        ),
        .span(
            "factor_decay_half_life",
            \.factorDecayHalfLife,
            flag: "factor-half-life",
            "Half-life of inactive users'/items' factors, applied on their next touch (0 = off)."
        ),
        .span("user_ttl", \.userTTL, flag: "user-ttl", "Remove users inactive longer than this (0 = never)."),
        .span(
            "item_ttl",
            \.itemTTL,
            flag: "item-ttl",
            "Remove items without interactions for longer than this (0 = never)."
        ),
        .int(
            "neighbor_width",
            \.neighborWidth,
            flag: "neighbors",
            "Item-neighbour blend: neighbours kept per item by the co-occurrence scorer (0 = plain MF ranking)."
        ),
        .int(
            "neighbor_history",
            \.neighborHistory,
            flag: "neighbor-history",
            "Item-neighbour blend: previous items of the user each new item is paired with."
        ),
        .int(
            "neighbor_context",
            \.neighborContext,
            flag: "neighbor-context",
            "Item-neighbour blend: recent items whose neighbours score the candidates."
        ),
        .float(
            "neighbor_decay",
            \.neighborDecay,
            flag: "neighbor-decay",
            "Item-neighbour blend: weight decay per step of sequence gap / recency (0, 1]."
        ),
        .float(
            "blend_learning_rate",
            \.blendLearningRate,
            flag: "blend-lr",
            "Item-neighbour blend: learning rate of the online blend weights (0 = fixed)."
        ),
    ]

    public static let byFlag: [String: ModelSetting] = Dictionary(
        uniqueKeysWithValues: all.compactMap { s in s.flag.map { ($0, s) } }
    )

    /// `--help` text of a flag: the table's help and the built-in default.
    public static func help(flag: String) -> String {
        guard let s = byFlag[flag] else { return "" }
        return "\(s.help) Config key model.\(s.key). (default: \(s.show(ModelConfig())))"
    }

    /// Markdown table of every setting (docs).
    public static func markdownTable() -> String {
        var lines = ["| key | flag | default | meaning |", "| --- | --- | --- | --- |"]
        let defaults = ModelConfig()
        for s in all {
            lines.append(
                "| `model.\(s.key)` | \(s.flag.map { "`--\($0)`" } ?? "") | `\(s.show(defaults))` | \(s.help) |"
            )
        }
        return lines.joined(separator: "\n")
    }
}

extension ModelConfig {
    /// Reads every ``ModelSettings`` row from `reader` (scoped to `model`); absent keys keep defaults.
    public init(reader: ConfigReader) throws {
        self.init()
        for setting in ModelSettings.all { try setting.read(reader, &self) }
    }
}

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
