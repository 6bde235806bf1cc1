public import ArgumentParser
import Foundation
import StreamRecCore
import StreamRecServe

/// Model flags shared by `replay`, `tune` and `http-demo`, with `--config`. Names, help and defaults come
/// from ``ModelSettings`` (the one table of ModelConfig's fields); values stay text here and are parsed
/// by the same reader as the config file and the environment, so a flag simply overrides them.
/// ArgumentParser only knows options declared as properties, so the table's flags are generated into the
/// marked section below (`UPDATE_DOCS=1 swift test --filter ConfigDocsTests`); ``validate()`` refuses to
/// run while one is missing or extra.
struct ModelOptions: ParsableArguments {
    @Option(
        help:
            "YAML config file (the one `serve` reads): its model, serve.k/ranking, weights and limits apply; flags override it."
    )
    var config: String?

    // model-flags:begin (generated from ModelSettings; edit the table, not these lines)
    @Option(help: .init(ModelSettings.help(flag: "factors"))) var factors: String?
    @Option(help: .init(ModelSettings.help(flag: "lr"))) var lr: String?
    @Option(help: .init(ModelSettings.help(flag: "reg"))) var reg: String?
    @Option(help: .init(ModelSettings.help(flag: "init-scale"))) var initScale: String?
    @Option(help: .init(ModelSettings.help(flag: "negatives"))) var negatives: String?
    @Option(help: .init(ModelSettings.help(flag: "sampling"))) var sampling: String?
    @Option(help: .init(ModelSettings.help(flag: "loss"))) var loss: String?
    @Option(help: .init(ModelSettings.help(flag: "seed"))) var seed: String?
    @Option(help: .init(ModelSettings.help(flag: "max-users"))) var maxUsers: String?
    @Option(help: .init(ModelSettings.help(flag: "max-items"))) var maxItems: String?
    @Option(help: .init(ModelSettings.help(flag: "history"))) var history: String?
    @Option(help: .init(ModelSettings.help(flag: "epsilon"))) var epsilon: String?
    @Option(help: .init(ModelSettings.help(flag: "uncertainty-bonus"))) var uncertaintyBonus: String?
    @Option(help: .init(ModelSettings.help(flag: "mmr-lambda"))) var mmrLambda: String?
    @Option(help: .init(ModelSettings.help(flag: "mmr-candidates"))) var mmrCandidates: String?
    @Option(help: .init(ModelSettings.help(flag: "sequence-context"))) var sequenceContext: String?
    @Option(help: .init(ModelSettings.help(flag: "cold-start-events"))) var coldStartEvents: String?
    @Option(help: .init(ModelSettings.help(flag: "cold-start-weight"))) var coldStartWeight: String?
    @Option(help: .init(ModelSettings.help(flag: "cold-start-neighbors"))) var coldStartNeighbors: String?
    @Option(help: .init(ModelSettings.help(flag: "popularity-half-life"))) var popularityHalfLife: String?
    @Option(help: .init(ModelSettings.help(flag: "factor-half-life"))) var factorHalfLife: String?
    @Option(help: .init(ModelSettings.help(flag: "user-ttl"))) var userTtl: String?
    @Option(help: .init(ModelSettings.help(flag: "item-ttl"))) var itemTtl: String?
    @Option(help: .init(ModelSettings.help(flag: "neighbors"))) var neighbors: String?
    @Option(help: .init(ModelSettings.help(flag: "neighbor-history"))) var neighborHistory: String?
    @Option(help: .init(ModelSettings.help(flag: "neighbor-context"))) var neighborContext: String?
    @Option(help: .init(ModelSettings.help(flag: "neighbor-decay"))) var neighborDecay: String?
    @Option(help: .init(ModelSettings.help(flag: "blend-lr"))) var blendLr: String?
    // model-flags:end

    @Option(help: "JSONL item catalog {item, attributes, text}: new items start from similar items' factors.")
    var itemCatalog: String?

    /// The model flags given, by config key (`--lr 0.05` → `model.learning_rate`), found by reflection
    /// over the properties above so no second list of them exists.
    var modelFlagValues: [String: String] {
        var values: [String: String] = [:]
        for child in Mirror(reflecting: self).children {
            guard let label = child.label, let option = child.value as? Option<String?>,
                let value = option.wrappedValue,
                let setting = ModelSettings.byFlag[Self.flagName(property: String(label.dropFirst()))]
            else { continue }
            values["model." + setting.key] = value
        }
        return values
    }

    /// `mmrLambda` → `mmr-lambda` (ArgumentParser's own naming of a property's long flag).
    static func flagName(property: String) -> String {
        property.reduce(into: "") { out, c in
            if c.isUppercase { out += "-" + c.lowercased() } else { out.append(c) }
        }
    }

    /// Model flags whose table row has no property here, or properties naming no row (a test asserts none).
    static var unmatchedFlags: [String] {
        let properties = Mirror(reflecting: ModelOptions()).children.compactMap { child -> String? in
            guard let label = child.label, child.value is Option<String?>, label != "_config", label != "_itemCatalog"
            else { return nil }
            return flagName(property: String(label.dropFirst()))
        }
        let table = Set(ModelSettings.byFlag.keys)
        return Array(table.subtracting(properties)).sorted() + Array(Set(properties).subtracting(table)).sorted()
    }

    func validate() throws {
        // A property without a table row would be parsed and ignored; a row without a property has no flag.
        guard Self.unmatchedFlags.isEmpty else {
            throw ValidationError("model flags out of step with ModelSettings: \(Self.unmatchedFlags)")
        }
    }

    /// The settings after flags > `STREAMREC_*` environment > `--config` file > defaults, validated.
    /// `extra` adds the command's own flags that map to config keys (e.g. `-k` → `serve.k`).
    func settings(extra: [String: String] = [:]) async throws -> ServeConfig {
        let sources = ConfigSources(
            flags: modelFlagValues.merging(extra) { a, _ in a },
            environment: ProcessInfo.processInfo.environment,
            filePath: config,
            rejectUnknownEnvironment: false
        )
        do {
            return try await ServeConfig.load(sources)
        } catch {
            throw CLIError("invalid configuration: \(error)")
        }
    }

    /// Loads `--item-catalog`, if given.
    func loadCatalog() throws -> ItemCatalog? {
        guard let path = itemCatalog else { return nil }
        do {
            let (catalog, malformed) = try ItemCatalog.load(path: path)
            stderr(
                "read item catalog \(path): \(catalog.count) items\(malformed > 0 ? ", \(malformed) malformed lines skipped" : "")"
            )
            return catalog
        } catch {
            throw CLIError("cannot read item catalog \(path): \(error)")
        }
    }
}

extension ModelConfig.NegativeSampling: ExpressibleByArgument {}
extension ModelConfig.Loss: ExpressibleByArgument {}
extension ModelConfig.Ranker: ExpressibleByArgument {}
extension EventLogFormat: ExpressibleByArgument {}
