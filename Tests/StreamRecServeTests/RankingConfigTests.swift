import Foundation
import StreamRecCore
import Testing

@testable import StreamRecServe

@Suite("Ranking mode configuration")
struct RankingConfigTests {
    func load(_ text: String, environment: [String: String] = [:]) async throws -> ServeConfig {
        let path = try temporaryConfig(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await ServeConfig.load(path: path, environment: environment)
    }

    @Test("serve.ranking selects exact or approximate; anything else is refused at start-up")
    func rankingKey() async throws {
        #expect(try await load("serve:\n  k: 10").ranking == .approximate)
        #expect(try await load("serve:\n  ranking: approximate").ranking == .approximate)
        #expect(try await load("serve:\n  ranking: \"exact\"").ranking == .exact)
        await #expect(throws: (any Error).self) { try await load("serve:\n  ranking: fast") }
    }
}
