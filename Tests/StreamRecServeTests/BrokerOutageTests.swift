import Foundation
import StreamRecCore
import StreamRecKafka
import StreamRecKafkaTestKit
import StreamRecTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Broker outages against a private broker (own port and data dir), as in ``BrokerRestartTests``.
@Suite(
    "serve under broker outages",
    .serialized,
    .realBroker
)
struct BrokerOutageTests {
    func broker(_ verb: String, port: Int, home: String) throws {
        try BrokerRestartTests().broker(verb, port: port, home: home)
    }

    /// Stops the broker at once (SIGKILL). The launcher's graceful stop waits 60 s while clients are
    /// connected and then kills it anyway; this is the same outage without the wait.
    func killBroker(home: String) throws {
        let pidText = try String(contentsOfFile: home + "/broker.pid", encoding: .utf8)
        let pid = try #require(pid_t(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        Glibc.kill(pid, SIGKILL)
        for _ in 0..<100 {
            if Glibc.kill(pid, 0) != 0 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// GET via curl (bounded): status code and body, nil if the server didn't answer.
    static func get(_ url: String) -> (status: Int, body: [String: Any])? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = ["-s", "-m", "2", "-w", "\n%{http_code}", url]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard let newline = text.lastIndex(of: "\n"), let code = Int(text[text.index(after: newline)...]), code > 0
        else { return nil }
        let body = (try? JSONSerialization.jsonObject(with: Data(text[..<newline].utf8))) as? [String: Any] ?? [:]
        return (code, body)
    }

    static func freePort() -> Int { 30_000 + Int.random(in: 0..<9_000) }

    @Test("a busy learner survives a broker outage: /stats and /readyz show it, every event applied once, quiet log")
    func busyLearnerOutage() throws {
        _ = try TestBroker.bootstrap()
        let port = Self.freePort()
        let httpPort = Self.freePort()
        let home = try temporaryDirectory()
        try broker("start", port: port, home: home)
        defer { try? broker("stop", port: port, home: home) }
        let bootstrap = "127.0.0.1:\(port)"
        let n = ServeIntegrationTests.Names()
        let events = try sampleEvents(12_000, users: 1000, items: 500)
        try createTopics([n.topic, n.recs, n.dlq], bootstrap: bootstrap)
        try produce(events, to: n.topic, bootstrap: bootstrap)
        let dir = try temporaryDirectory()
        var args = serveArguments(
            bootstrap: bootstrap,
            topic: n.topic,
            recs: n.recs,
            dlq: n.dlq,
            group: n.group,
            snapshots: dir,
            extra: ["--snapshot-every", "4000"]
        )
        args[args.firstIndex(of: "--http-port")! + 1] = "\(httpPort)"
        let p = try ServeProcess(arguments: args, logPath: dir + "/serve.log")
        defer { if p.process.isRunning { p.kill9() } }
        let stats = "http://127.0.0.1:\(httpPort)/stats"
        let ready = "http://127.0.0.1:\(httpPort)/readyz"
        func consumed() -> Int { ((Self.get(stats)?.body["status"] as? [String: Any])?["eventsConsumed"] as? Int) ?? 0 }
        // Busy: well into the backlog, far from its end.
        var atOutage = 0
        for _ in 0..<1200 {
            atOutage = consumed()
            if atOutage >= 2_000 { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(atOutage >= 2_000 && atOutage < events.count, "learner not mid-backlog: \(atOutage)")
        let linesBefore = p.log.split(separator: "\n").count
        try killBroker(home: home)
        var sawDisconnected = false
        var sawNotReady = false
        let outageEnd = Date().addingTimeInterval(20)
        while Date() < outageEnd {
            if let s = Self.get(stats), (s.body["status"] as? [String: Any])?["brokerConnected"] as? Bool == false {
                sawDisconnected = true
            }
            if let r = Self.get(ready), r.status == 503,
                (r.body["failing"] as? [String])?.contains("broker_connected") == true
            {
                sawNotReady = true
            }
            Thread.sleep(forTimeInterval: 0.25)
        }
        #expect(sawDisconnected, "/stats kept brokerConnected: true during the outage")
        #expect(sawNotReady, "/readyz stayed ready during the outage")
        #expect(p.process.isRunning, "serve died during the outage:\n\(p.log.suffix(3000))")
        try broker("start", port: port, home: home)
        var current = p
        for _ in 0..<1800 {
            if let c = try? committedOffset(group: n.group, topic: n.topic, bootstrap: bootstrap),
                c >= Int64(events.count)
            {
                break
            }
            if !current.process.isRunning {
                // After a broker restart a static member may be fenced (FENCED_INSTANCE_ID, a fatal
                // *consumer* error) when a commit of the old generation races the rejoin. serve re-creates
                // its consumer in-process (tested deterministically in ServeHardeningIntegrationTests);
                // only repeated fencing (> 3 a minute) exits for the supervisor, emulated here once.
                #expect(
                    current === p && current.log.contains("FENCED_INSTANCE_ID"),
                    "serve died after the broker came back:\n\(current.log.suffix(3000))"
                )
                guard current === p else { break }
                current = try ServeProcess(arguments: args, logPath: dir + "/serve-restarted.log")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        defer { if current.process.isRunning { current.kill9() } }
        #expect(current.process.isRunning, "serve died after the broker came back:\n\(current.log.suffix(3000))")
        let outageLines = p.log.split(separator: "\n").count - linesBefore
        #expect(outageLines < 400, "\(outageLines) log lines during and after the outage")
        current.terminate()
        #expect(current.wait(seconds: 60) == 0, "serve did not stop cleanly:\n\(current.log.suffix(3000))")
        let loaded = try #require(try SnapshotStore(directory: dir).loadNewestGood())
        #expect(loaded.snapshot.learner.counters.events == Int64(events.count))  // none lost, none doubled
        #expect(loaded.snapshot.learner == (try referenceLearner(events)))
    }

    @Test("shutdown is bounded: a stuck final flush ends in a non-zero exit with a message at the deadline")
    func boundedShutdown() throws {
        _ = try TestBroker.bootstrap()
        let port = Self.freePort()
        let home = try temporaryDirectory()
        try broker("start", port: port, home: home)
        defer { try? broker("stop", port: port, home: home) }
        let bootstrap = "127.0.0.1:\(port)"
        let n = ServeIntegrationTests.Names()
        let events = try sampleEvents(1100)
        try createTopics([n.topic, n.recs, n.dlq], bootstrap: bootstrap)
        try produce(events, to: n.topic, bootstrap: bootstrap)
        let dir = try temporaryDirectory()
        let config = dir + "/serve.yaml"
        try "serve:\n  shutdown_timeout_seconds: 3.0\nsnapshots:\n  every_seconds: 0.0\n".write(
            toFile: config,
            atomically: true,
            encoding: .utf8
        )
        let p = try ServeProcess(
            arguments: serveArguments(
                bootstrap: bootstrap,
                topic: n.topic,
                recs: n.recs,
                dlq: n.dlq,
                group: n.group,
                snapshots: dir,
                extra: ["--snapshot-every", "1000000", "--config", config]
            ),
            logPath: dir + "/serve.log"
        )
        defer { if p.process.isRunning { p.kill9() } }
        // No snapshot is due during the run (every_seconds 0, every_events far above the log), so whatever
        // has been learned when the broker dies must go into the final snapshot, whose offset commit can't
        // finish. (An earlier version waited for periodic snapshots and was flaky: under load one snapshot
        // could cover the whole log, leaving the final one nothing to get stuck on.) Lists reaching the
        // recommendations topic show that the events are being learned.
        for _ in 0..<600 {
            let users =
                (try? readAll(n.recs, bootstrap: bootstrap))
                .map { Set($0.compactMap { $0.key.map { String(decoding: $0, as: UTF8.self) } }).count } ?? 0
            if users >= 100 { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        Thread.sleep(forTimeInterval: 1)
        try killBroker(home: home)
        p.terminate()
        let status = p.wait(seconds: 25)
        #expect(status == 3, "exit status \(String(describing: status)):\n\(p.log.suffix(3000))")
        #expect(p.log.contains("shutdown did not finish within 3.0 s"))
    }
}
