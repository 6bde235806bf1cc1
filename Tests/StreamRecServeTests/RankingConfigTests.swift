import Foundation
import StreamRecCore
import Testing
@testable import StreamRecServe

@Suite("Ranking mode configuration")
struct RankingConfigTests {
    func load(_ text: String, environment: [String: String] = [:]) throws -> ServeConfig {
        let path = NSTemporaryDirectory() + "streamrec-ranking-\(UUID().uuidString).toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try ServeConfig.load(path: path, environment: environment)
    }

    @Test("[serve] ranking selects exact or approximate; anything else is refused at start-up")
    func rankingKey() throws {
        #expect(try load("[serve]\nk = 10").ranking == .approximate)
        #expect(try load("[serve]\nranking = \"approximate\"").ranking == .approximate)
        #expect(try load("[serve]\nranking = \"exact\"").ranking == .exact)
        #expect(throws: (any Error).self) { try load("[serve]\nranking = \"fast\"") }
    }
}
