import Foundation
import StreamRecCore
import StreamRecKafkaTestKit
import StreamRecServe
import StreamRecTestSupport
import Testing

/// `replay`, `tune` and `http-demo` read the serve config file (`--config`); flags override it.
@Suite("commands read the serve config file")
struct CommandConfigTests {
    /// Runs the built `streamrec` with `arguments`, without the caller's STREAMREC_* variables.
    static func run(
        _ arguments: [String],
        environment extra: [String: String] = [:]
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestPaths.streamrecBinary())
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STREAMREC_") }
            .merging(extra) { _, new in new }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A small CSV log (user,item,ts): 30 users over 40 items.
    static func log(in dir: String) throws -> String {
        var lines: [String] = []
        for i in 0..<600 {
            lines.append("u\((i * 7) % 30),i\((i * 13 + i / 30) % 40),\(1_700_000_000_000 + Int64(i) * 1000)")
        }
        let path = dir + "/log.csv"
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The model config of the final snapshot a replay wrote.
    static func replayedConfig(_ extra: [String], environment: [String: String] = [:]) throws -> ModelConfig {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "model:\n  factors: 8\n  negatives: 2\nserve:\n  ranking: exact\n".write(
            toFile: dir + "/c.yaml",
            atomically: true,
            encoding: .utf8
        )
        let r = try run(
            ["replay", try log(in: dir), "--quiet", "--config", dir + "/c.yaml", "--snapshot-dir", dir + "/snaps"]
                + extra,
            environment: environment
        )
        #expect(r.status == 0, "\(r.output)")
        let loaded = try SnapshotStore(directory: dir + "/snaps").loadNewestGood()
        return try #require(loaded?.snapshot.learner.config)
    }

    @Test("replay --config uses the file's model settings; a flag overrides one key, the environment another")
    func replayConfig() throws {
        let fromFile = try Self.replayedConfig([])
        #expect(fromFile.factors == 8 && fromFile.negatives == 2)
        let overridden = try Self.replayedConfig(["--factors", "12"], environment: ["STREAMREC_MODEL_NEGATIVES": "3"])
        #expect(overridden.factors == 12 && overridden.negatives == 3)
        #expect(overridden.learningRate == ModelConfig().learningRate)
    }

    @Test("every model setting changed reaches replay's model: flags for rows with one, the environment for the rest")
    func everyModelFlag() throws {
        let changed = ModelSettings.everyFieldChanged()
        var arguments: [String] = []
        var environment: [String: String] = [:]
        for s in ModelSettings.all {
            if let flag = s.flag {
                arguments += ["--\(flag)", s.show(changed)]
            } else if s.name == "ranker" {
                arguments += ["--model", s.show(changed)]  // replay's own spelling of the ranker
            } else {
                environment[s.environmentName] = s.show(changed)
            }
        }
        #expect(try Self.replayedConfig(arguments, environment: environment) == changed)
    }

    @Test("replay and tune refuse a bad --config like serve does", arguments: ["replay", "tune"])
    func badConfig(command: String) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "model:\n  factorz: 8\n".write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        let r = try Self.run([command, try Self.log(in: dir), "--config", dir + "/c.yaml"])
        #expect(r.status != 0)
        #expect(r.output.contains("unknown config key 'model.factorz'"), "\(r.output)")
    }

    @Test(
        "every model flag of the table is offered by replay, tune and http-demo",
        arguments: ["replay", "tune", "http-demo"]
    )
    func flagsFromTable(command: String) throws {
        let r = try Self.run([command, "--help"])
        for flag in ModelSettings.all.compactMap(\.flag) {
            #expect(r.output.contains("--\(flag) "), "--\(flag) missing from \(command) --help")
        }
        #expect(r.output.contains("--config"))
    }

    @Test(
        "replay --kafka takes kafka.bootstrap_servers (and properties) from --config",
        .realBroker
    )
    func replayKafkaFromConfig() throws {
        let bootstrap = try TestBroker.bootstrap()
        let topic = uniqueName("cfg-replay")
        try createTopics([topic], bootstrap: bootstrap)
        try produce(try sampleEvents(300), to: topic, bootstrap: bootstrap)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "kafka:\n  bootstrap_servers: \"\(bootstrap)\"\n  properties:\n    client.id: cfg-replay\n"
            .write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        let r = try Self.run(["replay", "--kafka", topic, "--config", dir + "/c.yaml", "--quiet"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("read 300 events from \(topic)"), "\(r.output)")
    }
}
