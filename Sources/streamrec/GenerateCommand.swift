import ArgumentParser
import Foundation
import StreamRecCore

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a synthetic event log with planted latent structure, popularity skew and drift.",
        discussion: """
            Users prefer a few latent topics; items belong to one topic with Zipf popularity; a fraction of \
            users switch topics part-way (interest drift); optionally items have planted successors \
            (sequential structure). The same flags and seed always give a byte-identical file.
            """
    )

    @Option(name: .shortAndLong, help: "Output path (.jsonl or .csv).")
    var out: String
    @Option var users: Int = SyntheticLogConfig().users
    @Option var items: Int = SyntheticLogConfig().items
    @Option var events: Int = SyntheticLogConfig().events
    @Option(help: "Latent topics (clusters).")
    var topics: Int = SyntheticLogConfig().topics
    @Option(help: "Zipf exponent of item popularity.")
    var popularitySkew: Double = SyntheticLogConfig().popularitySkew
    @Option(help: "Fraction of users whose interests drift.")
    var driftFraction: Double = SyntheticLogConfig().driftFraction
    @Option(help: "Where in the timeline drift happens (fraction of events).")
    var driftAt: Double = SyntheticLogConfig().driftAt
    @Option(help: "Probability an event follows its planted successor item (sequential structure).")
    var sequentialProbability: Double = SyntheticLogConfig().sequentialProbability
    @Option var seed: UInt64 = SyntheticLogConfig().seed
    @Option(help: "Also write a JSONL item catalog (category, brand, text tied to the planted topics) here.")
    var catalog: String?

    func run() throws {
        var c = SyntheticLogConfig()
        c.users = users
        c.items = items
        c.events = events
        c.topics = topics
        c.popularitySkew = popularitySkew
        c.driftFraction = driftFraction
        c.driftAt = driftAt
        c.sequentialProbability = sequentialProbability
        c.seed = seed
        let dir = URL(fileURLWithPath: out).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let generator = try SyntheticLogGenerator(config: c)
        let n = try generator.write(to: out)
        stderr("wrote \(n) events (\(users) users, \(items) items, \(topics) topics) to \(out)")
        if let catalog {
            try generator.writeCatalog(to: catalog)
            stderr("wrote item catalog (\(items) items) to \(catalog)")
        }
    }
}
