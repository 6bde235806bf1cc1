import Foundation
import StreamRecCore

#if canImport(Glibc)
import Glibc
#endif

/// An error the CLI reports as one clear line and a non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func stderr(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
final class ProgressBar {
    private let label: String
    private let enabled: Bool
    private let started = Date()

    init(label: String, enabled: Bool) {
        self.label = label
        self.enabled = enabled && isatty(STDERR_FILENO) == 1
    }

    func update(_ done: Int64, _ total: Int64) {
        guard enabled, total > 0 else { return }
        let fraction = Double(done) / Double(total)
        let width = 30
        let filled = Int(fraction * Double(width))
        let rate = Double(done) / max(Date().timeIntervalSince(started), 1e-9)
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        FileHandle.standardError.write(
            Data(
                String(
                    format: "\r%@ %@ %5.1f%% %lld/%lld  %.0f ev/s ",
                    label,
                    bar,
                    fraction * 100,
                    done,
                    total,
                    rate
                ).utf8
            )
        )
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}

/// Renders replay reports as the table the README shows.
enum ReportTable {
    static func render(_ reports: [ReplayReport]) -> String {
        guard let first = reports.first else { return "" }
        let k = first.k
        let header = [
            "model", "events", "scored", "recall@\(k)", "NDCG@\(k)", "MRR@\(k)", "P@\(k)", "F1@\(k)",
            "AUC", "coverage", "novelty", "diversity", "gini", "entropy", "tail", "events/s",
        ]
        let rows = reports.map { r in
            [
                r.ranker, "\(r.consumedEvents)", "\(r.scoredEvents)", f(r.recall), f(r.ndcg), f(r.mrr), f(r.precision),
                f(r.f1), r.auc.map(f) ?? "n/a", f(r.coverage), String(format: "%.2f", r.novelty),
                r.diversity.map(f) ?? "n/a", f(r.exposureGini), String(format: "%.2f", r.exposureEntropy),
                f(r.longTailShare), String(format: "%.0f", r.eventsPerSecond),
            ]
        }
        let aucNote = first.aucSamples > 0 ? "\(first.aucSamples) sampled unconsumed items per event" : "off"
        return markdown(header: header, rows: rows) + "\n\nAUC: \(aucNote). gini/entropy (bits): exposure over all "
            + "scored lists. tail: share of lists with an item outside the top-1% most popular."
    }

    /// A right-aligned markdown table (first column left-aligned).
    static func markdown(header: [String], rows: [[String]]) -> String {
        let widths = header.indices.map { c in ([header[c]] + rows.map { $0[c] }).map(\.count).max()! }
        func line(_ cells: [String]) -> String {
            "| "
                + cells.enumerated().map { c, s in
                    c == 0
                        ? s.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                        : String(repeating: " ", count: widths[c] - s.count) + s
                }.joined(separator: " | ") + " |"
        }
        let rule =
            "|"
            + widths.enumerated().map { c, w in
                c == 0 ? String(repeating: "-", count: w + 2) : String(repeating: "-", count: w + 1) + ":"
            }.joined(separator: "|") + "|"
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }

    static func windowsCSV(_ reports: [ReplayReport]) -> String {
        var out =
            "model,end_event,scored,recall,ndcg,mrr,coverage,precision,f1,auc,exposure_gini,exposure_entropy,"
            + "long_tail_share\n"
        for r in reports {
            for w in r.windows {
                out +=
                    "\(r.ranker),\(w.endEvent),\(w.scored),\(f(w.recall)),\(f(w.ndcg)),\(f(w.mrr)),\(f(w.coverage)),"
                    + "\(f(w.precision)),\(f(w.f1)),\(w.auc.map(f) ?? ""),\(f(w.exposureGini)),\(f(w.exposureEntropy)),"
                    + "\(f(w.longTailShare))\n"
            }
        }
        return out
    }

    private static func f(_ x: Double) -> String { String(format: "%.4f", x) }
}
