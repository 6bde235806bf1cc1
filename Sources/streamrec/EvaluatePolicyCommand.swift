import ArgumentParser
import Foundation
import StreamRecCore

struct EvaluatePolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate-policy",
        abstract: "Off-policy estimate of a target policy's hit rate from lists logged with propensities.",
        discussion: """
            Inputs: the logged lists (JSONL, schemas/recommendations.schema.json, with list_propensity/propensity \
            as written by serve or `replay --lists-out` with --epsilon > 0), the interaction events (any log format \
            replay reads; event i = the i-th event in replay order = offset i), and the target policy's lists for \
            the same (user, source_offset) (e.g. `replay --lists-out` with the target's settings). A list's outcome is \
            its user's first event after its source offset; it is a hit when that item is in the list. Estimators: \
            IPS, SNIPS and doubly robust (reward model: cross-fitted popularity of outcomes), with 95% normal-\
            approximation intervals. Lists from Kafka: dump both topics to files first (e.g. kcat -C -e -t <topic>); \
            offsets must index the events file, so use a single-partition events topic read from offset 0.
            """
    )

    @Option(help: "Logged lists with propensities (JSONL).")
    var lists: String
    @Option(help: "The target policy's lists (JSONL), matched by user and source_offset.")
    var target: String
    @Option(help: "Interaction events (.jsonl, .csv, .tsv or u.data), in the order replay reads them.")
    var events: String
    @Option(help: "Event log format: auto | jsonl | csv | tsv.")
    var format: EventLogFormat = .auto
    @Flag(
        help: "Use per-slot propensities (target must place the same item in the same slot) instead of list membership."
    )
    var perSlot = false
    @Option(help: "Write the estimates and join statistics as JSON to this path.")
    var report: String?

    func run() throws {
        let logged = try readLists(lists)
        let targets = try readLists(target)
        let log = try readTimeOrderedLog(events, format: format)
        let (joined, stats) = OffPolicyLog.join(logged: logged, target: targets, events: log, perSlot: perSlot)
        stderr(
            "lists: \(stats.lists) read, \(stats.used) used; skipped: \(stats.withoutPropensities) without propensities, "
                + "\(stats.withoutSourceOffset) without source_offset, \(stats.withoutOutcome) without a later event, "
                + "\(stats.repeatOutcomes) with a repeat-consumption outcome, \(stats.withoutTarget) without a target list"
        )
        guard !joined.isEmpty else { throw CLIError("no list could be evaluated (see the counts above)") }
        let estimates = OffPolicyEstimators.all(joined)
        let rows = estimates.map { e in
            [
                e.estimator, String(format: "%.4f", e.value), String(format: "%.4f", e.standardError),
                String(format: "[%.4f, %.4f]", e.lower, e.upper),
            ]
        }
        print(
            ReportTable.markdown(header: ["estimator", "target hit rate", "std. error", "95% CI (normal)"], rows: rows)
        )
        let ess = OffPolicyEstimators.effectiveSampleSize(joined)
        print(
            "\nlogged policy's own hit rate: \(String(format: "%.4f", stats.loggedHitRate)) over \(stats.used) lists "
                + "(units: \(perSlot ? "slots" : "listed items")); effective sample size for the target: \(String(format: "%.0f", ess))"
        )
        if ess < 0.2 * Double(stats.used) {
            print(
                "warning: the effective sample size is \(String(format: "%.0f", 100 * ess / Double(stats.used)))% of the lists: "
                    + "the target shows items the logging policy rarely shows, and normal intervals can be too narrow "
                    + "(docs/evaluation.md); log with a larger ε or more lists"
            )
        }
        if let path = report {
            try writeJSON(
                EvaluatePolicyReport(
                    lists: lists,
                    target: target,
                    events: events,
                    perSlot: perSlot,
                    stats: stats,
                    effectiveSampleSize: ess,
                    estimates: estimates
                ),
                to: path
            )
            stderr("report written to \(path)")
        }
    }
}

struct EvaluatePolicyReport: Codable {
    var lists: String
    var target: String
    var events: String
    var perSlot: Bool
    var stats: OffPolicyLog.Stats
    var effectiveSampleSize: Double
    var estimates: [OffPolicyEstimators.Estimate]
}

/// Longest list document accepted (a K = 1000 list with long ids stays well below).
let maxListLineBytes = 4 << 20

/// Reads a JSONL file of recommendation lists; a malformed or oversized line stops with its line number.
func readLists(_ path: String) throws -> [RecommendationList] {
    guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path)") }
    var out: [RecommendationList] = []
    var lineNumber = 0
    for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
        lineNumber += 1
        if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
        guard line.count <= maxListLineBytes else {
            throw CLIError("\(path):\(lineNumber): line longer than \(maxListLineBytes) bytes")
        }
        do {
            out.append(try RecommendationList(jsonBytes: Array(line)))
        } catch {
            throw CLIError("\(path):\(lineNumber): \(error)")
        }
    }
    return out
}

/// Buffered JSONL output of recommendation lists.
final class JSONLWriter {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private(set) var lines = 0

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else {
            throw CLIError("cannot create \(path)")
        }
        self.handle = handle
        buffer.reserveCapacity(1 << 20)
    }

    func append(_ list: RecommendationList) {
        list.appendJSON(to: &buffer)
        buffer.append(UInt8(ascii: "\n"))
        lines += 1
        if buffer.count >= 1 << 20 { flush() }
    }

    func flush() {
        handle.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        flush()
        try handle.close()
    }
}
