/// The table of ``ModelConfig``'s settings, one ``ModelSetting`` row per field. Order = order in the
/// docs, the example config and `--help`. To add a setting: declare the field (with its default) in
/// ``ModelConfig`` and add its row here; docs/configuration.md shows an example.
public enum ModelSettings {
    public static let all: [ModelSetting] = [
        .choice("ranker", \.ranker, flag: nil, "Scorer: the learned model or a baseline (replay: --model)."),
        .int("factors", \.factors, in: 1...1024, flag: "factors", "Latent factors (k)."),
        .float("learningRate", \.learningRate, in: .openClosed(0, 10), flag: "lr", "SGD learning rate."),
        .float("regularization", \.regularization, in: .closedOpen(0, 10), flag: "reg", "L2 regularization."),
        .float(
            "initScale",
            \.initScale,
            in: .closed(0, 10),
            flag: "init-scale",
            "Standard deviation of initial factors."
        ),
        .int("negatives", \.negatives, in: 0...1000, flag: "negatives", "Sampled negatives per positive event."),
        .choice(
            "negativeSampling",
            \.negativeSampling,
            flag: "sampling",
            "Negative sampling: uniform over the catalog, or proportional to recent popularity (popularity_window)."
        ),
        .choice(
            "loss",
            \.loss,
            flag: "loss",
            "Loss: pairwise logistic (bpr) or squared error towards 1/0 (isgd)."
        ),
        .bool("useItemBias", \.useItemBias, flag: nil, "Learn a bias per item."),
        .uint64(
            "seed",
            \.seed,
            flag: "seed",
            "RNG seed (model initialization and negative sampling): same seed and log give the same model."
        ),
        .int(
            "maxUsers",
            \.maxUsers,
            in: 1...Int(Int32.max),
            flag: "max-users",
            "Cap on live users (least recently active evicted beyond it)."
        ),
        .int(
            "maxItems",
            \.maxItems,
            in: 1...Int(Int32.max),
            flag: "max-items",
            "Cap on live items (least recently interacted evicted beyond it)."
        ),
        .int("historyLength", \.historyLength, in: 1...65_535, flag: "history", "Recent events kept per user."),
        .int(
            "maxSeenPerUser",
            \.maxSeenPerUser,
            in: 1...1_000_000,
            flag: nil,
            "Distinct consumed items remembered per user (excluded from lists; beyond it the oldest is forgotten)."
        ),
        .int(
            "popularityWindow",
            \.popularityWindow,
            in: 1...100_000_000,
            flag: nil,
            "Recent interactions kept for popularity negative sampling."
        ),
        .double(
            "explorationEpsilon",
            \.explorationEpsilon,
            in: .closed(0, 1),
            flag: "epsilon",
            "ε-greedy exploration: probability each list slot is a random unconsumed item."
        ),
        .float(
            "uncertaintyBonus",
            \.uncertaintyBonus,
            in: .closed(0, 100),
            flag: "uncertainty-bonus",
            "Uncertainty bonus β: score + β/sqrt(1 + item interactions)."
        ),
        .float(
            "diversityLambda",
            \.diversityLambda,
            in: .closed(0, 1),
            flag: "mmr-lambda",
            "MMR diversity re-ranking λ (1 = off)."
        ),
        .int(
            "diversityCandidates",
            \.diversityCandidates,
            in: 1...10_000,
            flag: "mmr-candidates",
            "Candidates (top-M) re-ranked by MMR."
        ),
        .int(
            "sequenceContext",
            \.sequenceContext,
            in: 0...256,
            atMost: .init(name: "historyLength", path: \.historyLength, offset: -1),
            flag: "sequence-context",
            "Sequence-aware scoring: recent items used as context (0 = plain MF)."
        ),
        .int(
            "coldStartUserEvents",
            \.coldStartUserEvents,
            in: 0...1_000_000,
            flag: "cold-start-events",
            "Cold start: users with fewer interactions get recent popularity blended in (0 = off)."
        ),
        .float(
            "coldStartPopularityWeight",
            \.coldStartPopularityWeight,
            in: .closed(0, 100),
            flag: "cold-start-weight",
            "Cold start: weight of log(1 + recent count) for a user with no interactions."
        ),
        .int(
            "coldStartNeighbors",
            \.coldStartNeighbors,
            in: 0...1000,
            flag: "cold-start-neighbors",
            "Cold start: similar known items averaged to initialize a new catalog item."
        ),
        .span(
            "popularityHalfLife",
            \.popularityHalfLife,
            flag: "popularity-half-life",
            "Half-life of item popularity in event time (0 = never forget)."
        ),
        .span(
            "factorDecayHalfLife",
            \.factorDecayHalfLife,
            flag: "factor-half-life",
            "Half-life of inactive users'/items' factors, applied on their next touch (0 = off)."
        ),
        .span("userTTL", \.userTTL, flag: "user-ttl", "Remove users inactive longer than this (0 = never)."),
        .span(
            "itemTTL",
            \.itemTTL,
            flag: "item-ttl",
            "Remove items without interactions for longer than this (0 = never)."
        ),
        .int(
            "neighborWidth",
            \.neighborWidth,
            in: 0...1024,
            flag: "neighbors",
            "Item-neighbour blend: neighbours kept per item by the co-occurrence scorer (0 = plain MF ranking)."
        ),
        .int(
            "neighborHistory",
            \.neighborHistory,
            in: 0...Int.max,
            atMost: .init(name: "historyLength", path: \.historyLength, offset: -1),
            flag: "neighbor-history",
            "Item-neighbour blend: previous items of the user each new item is paired with."
        ),
        .int(
            "neighborContext",
            \.neighborContext,
            in: 0...Int.max,
            atMost: .init(name: "historyLength", path: \.historyLength, offset: 0),
            flag: "neighbor-context",
            "Item-neighbour blend: recent items whose neighbours score the candidates."
        ),
        .float(
            "neighborDecay",
            \.neighborDecay,
            in: .openClosed(0, 1),
            flag: "neighbor-decay",
            "Item-neighbour blend: weight decay per step of sequence gap / recency."
        ),
        .float(
            "blendLearningRate",
            \.blendLearningRate,
            in: .closed(0, 10),
            flag: "blend-lr",
            "Item-neighbour blend: learning rate of the online blend weights (0 = fixed)."
        ),
    ]

    public static let byFlag: [String: ModelSetting] = Dictionary(
        uniqueKeysWithValues: all.compactMap { s in s.flag.map { ($0, s) } }
    )

    /// `--help` text of a flag: the row's help, valid values, config key and built-in default.
    public static func help(flag: String) -> String {
        guard let s = byFlag[flag] else { return "" }
        return "\(s.longHelp) Config key model.\(s.key). (default: \(s.show(ModelConfig())))"
    }

    /// The CLI's model flags as `@Option` properties, one per row with a flag, named as the flag in
    /// camelCase (generated into Sources/streamrec/ModelOptions.swift: ArgumentParser only knows options
    /// declared as properties).
    public static func optionProperties() -> String {
        all.compactMap { s in
            s.flag.map { flag in
                let name = flag.split(separator: "-").enumerated()
                    .map {
                        $0.offset == 0 ? String($0.element) : $0.element.prefix(1).uppercased() + $0.element.dropFirst()
                    }
                    .joined()
                return "    @Option(help: .init(ModelSettings.help(flag: \"\(flag)\"))) var \(name): String?"
            }
        }.joined(separator: "\n")
    }

    /// Markdown table of every setting (docs/configuration.md).
    public static func markdownTable() -> String {
        var lines = ["| key | flag | default | valid | meaning |", "| --- | --- | --- | --- | --- |"]
        let defaults = ModelConfig()
        for s in all {
            let flag = s.flag.map { "`--\($0)`" } ?? ""
            lines.append("| `model.\(s.key)` | \(flag) | `\(s.show(defaults))` | \(s.validText) | \(s.unitHelp) |")
        }
        return lines.joined(separator: "\n")
    }

    /// The `model:` section's rows of an example config file: each key at its default, its help as a
    /// comment above it (deploy/streamrec.yaml).
    public static func exampleYAML(indent: String = "  ", width: Int = 110) -> String {
        var lines: [String] = []
        let defaults = ModelConfig()
        for s in all {
            var comment = s.unitHelp
            if !s.validText.isEmpty { comment += " Valid: \(s.validText)." }
            if let flag = s.flag { comment += " Flag --\(flag)." }
            lines += wrap(comment, prefix: indent + "# ", width: width)
            let value = s.show(defaults)
            if case .choice = s.field {
                lines.append("\(indent)\(s.key): \"\(value)\"")
            } else {
                lines.append("\(indent)\(s.key): \(value)")
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func wrap(_ text: String, prefix: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = prefix
        for word in text.split(separator: " ") {
            if line.count > prefix.count && line.count + 1 + word.count > width {
                lines.append(line)
                line = prefix
            }
            line += (line.count > prefix.count ? " " : "") + word
        }
        lines.append(line)
        return lines
    }
}
