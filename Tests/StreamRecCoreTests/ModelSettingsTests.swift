import Foundation
import StreamRecTestSupport
import Testing

@testable import StreamRecCore

/// The settings table is the one declaration of ModelConfig's fields: these tests derive every case from
/// it, so a new row is checked without editing them.
@Suite("model settings table")
struct ModelSettingsTests {
    /// Stored properties of `c` whose values differ from the defaults', by name.
    static func changedFields(_ c: ModelConfig) -> [String] {
        let defaults = Mirror(reflecting: ModelConfig()).children.map { "\($0.value)" }
        return zip(Mirror(reflecting: c).children, defaults).compactMap { child, d in
            "\(child.value)" == d ? nil : child.label
        }
    }

    @Test("one row per stored property of ModelConfig, in declaration order, with unique keys and flags")
    func rowPerField() {
        let properties = Mirror(reflecting: ModelConfig()).children.compactMap(\.label)
        #expect(ModelSettings.all.map(\.name) == properties)
        let keys = ModelSettings.all.map(\.key)
        #expect(Set(keys).count == keys.count)
        let flags = ModelSettings.all.compactMap(\.flag)
        #expect(Set(flags).count == flags.count)
    }

    @Test("each row's key path is the field it names")
    func keyPathMatchesName() throws {
        for setting in ModelSettings.all {
            let changed = try #require(setting.changed(ModelConfig()), "\(setting.name)")
            #expect(Self.changedFields(changed) == [setting.name])
        }
    }

    @Test("Codable: every field changed survives encode and decode; JSON keys are the field names")
    func codableRoundTrip() throws {
        let changed = ModelSettings.everyFieldChanged()
        #expect(Set(Self.changedFields(changed)) == Set(ModelSettings.all.map(\.name)))
        let back = try JSONDecoder().decode(ModelConfig.self, from: Data(changed.canonicalJSON.utf8))
        #expect(back == changed && back.fingerprint == changed.fingerprint)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(changed.canonicalJSON.utf8)) as? [String: Any]
        )
        #expect(Set(object.keys) == Set(ModelSettings.all.map(\.name)))
    }

    @Test("the default config's JSON (and so every snapshot's and report's config fingerprint) is unchanged")
    func canonicalJSONPinned() {
        #expect(ModelConfig().canonicalJSON == Self.defaultJSON)
    }

    @Test("missing keys decode to defaults; an unknown choice is refused")
    func decodeTolerance() throws {
        #expect(try JSONDecoder().decode(ModelConfig.self, from: Data("{}".utf8)) == ModelConfig())
        let one = try JSONDecoder().decode(ModelConfig.self, from: Data(#"{"factors":7}"#.utf8))
        #expect(one.factors == 7 && Self.changedFields(one) == ["factors"])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(ModelConfig.self, from: Data(#"{"loss":"hinge"}"#.utf8))
        }
    }

    @Test("every row with a rule refuses a value outside it, naming the field")
    func rulesEnforced() throws {
        var checked = 0
        for setting in ModelSettings.all where !setting.rule.text.isEmpty {
            var c = ModelConfig()
            switch setting.field {
            case .int(let p): c[keyPath: p] = -1
            case .float(let p): c[keyPath: p] = .nan
            case .double(let p): c[keyPath: p] = .nan
            case .span(let p): c[keyPath: p] = -1
            case .bool, .uint64, .choice: Issue.record("\(setting.name): rule on a kind without one")
            }
            #expect(throws: ConfigError.self) { try c.validate() }
            do {
                try c.validate()
            } catch {
                #expect(error.field == setting.name && error.message.contains(setting.rule.text), "\(error)")
            }
            checked += 1
        }
        #expect(checked > 20)
        var c = ModelConfig()
        c.sequenceContext = c.historyLength
        #expect(throws: ConfigError(field: "sequenceContext", message: "must be in 0...min(256, historyLength - 1)")) {
            try c.validate()
        }
        #expect(throws: Never.self) { try ModelSettings.everyFieldChanged().validate() }
    }

    @Test("keys are the names in snake_case")
    func snakeCase() {
        #expect(ModelSetting.snakeCase("learningRate") == "learning_rate")
        #expect(ModelSetting.snakeCase("userTTL") == "user_ttl")
        #expect(ModelSetting.snakeCase("coldStartUserEvents") == "cold_start_user_events")
    }

    /// Written by the hand-coded `encode(to:)` this table replaced.
    static let defaultJSON =
        #"{"blendLearningRate":0.01,"coldStartNeighbors":3,"coldStartPopularityWeight":1,"coldStartUserEvents":0,"diversityCandidates":50,"diversityLambda":1,"explorationEpsilon":0,"factorDecayHalfLife":0,"factors":32,"historyLength":50,"initScale":0.1,"itemTTL":0,"learningRate":0.1,"loss":"bpr","maxItems":1000000,"maxSeenPerUser":10000,"maxUsers":1000000,"negativeSampling":"uniform","negatives":4,"neighborContext":5,"neighborDecay":0.8,"neighborHistory":10,"neighborWidth":128,"popularityHalfLife":0,"popularityWindow":100000,"ranker":"mf","regularization":0.01,"seed":42,"sequenceContext":3,"uncertaintyBonus":0,"useItemBias":true,"userTTL":0}"#
}
