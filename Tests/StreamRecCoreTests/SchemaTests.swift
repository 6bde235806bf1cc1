import Foundation
import StreamRecTestSupport
import Testing

@testable import StreamRecCore

@Suite("JSON Schemas")
struct SchemaTests {
    static let eventSchema = "event.schema.json"
    static let recommendationsSchema = "recommendations.schema.json"
    static let deadLetterSchema = "dead-letter.schema.json"

    func validator(_ name: String) throws -> JSONSchemaValidator {
        try JSONSchemaValidator(contentsOf: TestPaths.schema(name))
    }

    @Test(
        "schema files load, declare draft 2020-12 and their own examples validate",
        arguments: [eventSchema, recommendationsSchema, deadLetterSchema]
    )
    func schemasLoadAndExamplesValidate(name: String) throws {
        let schema = try validator(name)
        guard case let .object(root) = schema.root, case let .array(examples)? = root["examples"] else {
            Issue.record("\(name) has no examples")
            return
        }
        #expect(root["$schema"] == .string("https://json-schema.org/draft/2020-12/schema"))
        #expect(root["description"] != nil)
        #expect(!examples.isEmpty)
        for example in examples { #expect(try schema.errors(example) == []) }
    }

    @Test func encoderAndRecommendationOutputsConform() throws {
        let events = try validator(Self.eventSchema)
        let recommendations = try validator(Self.recommendationsSchema)
        var inputs = RandomInputs(seed: 3)
        for _ in 0..<200 {
            #expect(try events.errors(JSONValue(parsing: EventEncoder.jsonBytes(inputs.event()))) == [])
            #expect(
                try recommendations.errors(JSONValue(parsing: RecommendationListTests.randomList(&inputs).jsonBytes()))
                    == []
            )
        }
        let clamped = RecommendationList(
            user: "u",
            items: [ScoredItem(item: "a", score: .infinity), ScoredItem(item: "b", score: .nan)],
            modelVersion: "v",
            timestamp: 0
        )
        #expect(try recommendations.errors(JSONValue(parsing: clamped.jsonBytes())) == [])

        let deadLetters = try validator(Self.deadLetterSchema)
        let record = DeadLetterRecord(
            reason: "malformed JSON at byte 0: expected a JSON object",
            sourceTopic: "events",
            sourcePartition: 1,
            sourceOffset: 7,
            timestamp: 1_700_000_000_000,
            payload: Array(repeating: 0x41, count: 70_000)
        )
        #expect(try deadLetters.errors(JSONValue(parsing: record.jsonBytes())) == [])
    }

    @Test(
        "invalid events fail the event schema",
        arguments: [
            #"{"item":"i","ts":1}"#,
            #"{"user":"u","item":"i"}"#,
            #"{"user":"","item":"i","ts":1}"#,
            #"{"user":true,"item":"i","ts":1}"#,
            #"{"user":1.5,"item":"i","ts":1}"#,
            #"{"user":"u","item":null,"ts":1}"#,
            #"{"user":"u","item":"i","ts":1.5}"#,
            #"{"user":"u","item":"i","ts":-1}"#,
            #"{"user":"u","item":"i","ts":253402300800000}"#,
            #"{"user":"u","item":"i","ts":"1"}"#,
            #"{"user":"u","item":"i","ts":1,"type":""}"#,
            #"{"user":"u","item":"i","ts":1,"type":7}"#,
            #"{"user":"u","item":"i","ts":1,"weight":-1}"#,
            #"{"user":"u","item":"i","ts":1,"weight":1001}"#,
            #"{"user":"u","item":"i","ts":1,"weight":"1"}"#,
            #"["u","i",1]"#,
        ]
    )
    func invalidEvents(json: String) throws {
        let schema = try validator(Self.eventSchema)
        #expect(try !schema.isValid(JSONValue(parsing: json)))
        // The decoder agrees with the schema on every one of them.
        #expect(throws: EventDecodingError.self) { try EventDecoder().decode(Substring(json)) }
    }

    @Test(
        "invalid recommendation lists fail the schema",
        arguments: [
            #"{"items":[],"model_version":"v","ts":1}"#,
            #"{"user":"u","model_version":"v","ts":1}"#,
            #"{"user":"u","items":[],"ts":1}"#,
            #"{"user":"u","items":[],"model_version":"v"}"#,
            #"{"user":"u","items":[{"item":"i"}],"model_version":"v","ts":1}"#,
            #"{"user":"u","items":[{"item":"i","score":"high"}],"model_version":"v","ts":1}"#,
            #"{"user":"u","items":[{"item":"i","score":1,"rank":1}],"model_version":"v","ts":1}"#,
            #"{"user":"u","items":[{"item":"i","score":1e39}],"model_version":"v","ts":1}"#,
            #"{"user":"u","items":[],"model_version":"v","ts":1,"extra":1}"#,
            #"{"user":"u","items":[],"model_version":"v","ts":1,"source_offset":{"topic":"t","partition":0}}"#,
            #"{"user":"u","items":[],"model_version":"v","ts":1,"source_offset":{"topic":"t","partition":-1,"offset":0}}"#,
            #"{"user":"u","items":[],"model_version":"v","ts":1,"fallback":""}"#,
            #"{"user":"u","items":[],"model_version":"","ts":1}"#,
        ]
    )
    func invalidRecommendations(json: String) throws {
        #expect(try !validator(Self.recommendationsSchema).isValid(JSONValue(parsing: json)))
    }

    @Test(
        "invalid dead-letter records fail the schema",
        arguments: [
            #"{"source_topic":"t","source_partition":0,"source_offset":0,"ts":0,"payload_base64":"","payload_bytes":0}"#,
            #"{"reason":"","source_topic":"t","source_partition":0,"source_offset":0,"ts":0,"payload_base64":"","payload_bytes":0}"#,
            #"{"reason":"r","source_topic":"t","source_partition":0,"source_offset":-1,"ts":0,"payload_base64":"","payload_bytes":0}"#,
            #"{"reason":"r","source_topic":"t","source_partition":0,"source_offset":0,"ts":0,"payload_base64":5,"payload_bytes":0}"#,
            #"{"reason":"r","source_topic":"t","source_partition":0,"source_offset":0,"ts":0,"payload_base64":""}"#,
        ]
    )
    func invalidDeadLetters(json: String) throws {
        #expect(try !validator(Self.deadLetterSchema).isValid(JSONValue(parsing: json)))
    }

    @Test("the validator implements each keyword it claims")
    func validatorKeywords() throws {
        let schema = JSONSchemaValidator(
            schema: try JSONValue(
                parsing: """
                    {"$defs":{"small":{"type":"integer","minimum":1,"maximum":3}},
                     "type":"object","additionalProperties":{"type":"boolean"},
                     "properties":{
                       "list":{"type":"array","minItems":1,"maxItems":2,"items":{"$ref":"#/$defs/small"}},
                       "color":{"enum":["red","green"]}, "version":{"const":2},
                       "either":{"anyOf":[{"type":"string","maxLength":2},{"type":"null"}]},
                       "exactly":{"oneOf":[{"type":"number"},{"type":"integer"}]},
                       "name":{"type":["string","null"],"minLength":2}
                     }}
                    """
            )
        )
        let valid = #"{"list":[1,3],"color":"red","version":2,"either":"ab","exactly":1.5,"name":"éé","flag":true}"#
        #expect(try schema.errors(JSONValue(parsing: valid)) == [])
        for invalid in [
            #"{"list":[]}"#, #"{"list":[1,2,3]}"#, #"{"list":[0]}"#, #"{"list":[4]}"#, #"{"list":[1.5]}"#,
            #"{"color":"blue"}"#, #"{"version":3}"#, #"{"either":"abc"}"#, #"{"either":1}"#,
            #"{"exactly":1}"#, #"{"name":"x"}"#, #"{"name":1}"#, #"{"flag":1}"#, #"[]"#,
        ] {
            #expect(try !schema.isValid(JSONValue(parsing: invalid)), "\(invalid)")
        }
        let unknown = JSONSchemaValidator(schema: try JSONValue(parsing: #"{"pattern":"x"}"#))
        #expect(throws: JSONSchemaValidator.SchemaError.self) { try unknown.errors(.string("x")) }
    }
}
