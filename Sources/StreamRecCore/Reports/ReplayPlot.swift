import Foundation

/// Renders replay reports as a self-contained HTML page (inline SVG, no scripts, no external assets):
/// one line chart per metric (recall@K and NDCG@K per window), one polyline per compared model, so a
/// backtest can be read at a glance and attached to an issue or a CI artifact.
public enum ReplayPlot {
    /// A metric plotted per window.
    public struct Metric: Sendable {
        public var title: String
        public var value: @Sendable (WindowMetrics) -> Double
        public init(title: String, value: @escaping @Sendable (WindowMetrics) -> Double) {
            self.title = title
            self.value = value
        }
    }

    static let palette = ["#2e90fa", "#f79009", "#12b76a", "#f04438", "#7a5af8", "#0e9384"]
    static let width = 720.0, height = 300.0
    static let padLeft = 56.0, padRight = 16.0, padTop = 16.0, padBottom = 36.0

    /// The full page for `reports` (typically one per ranker, same log and K).
    public static func html(_ reports: [ReplayReport], title: String = "streamrec replay") -> String {
        let k = reports.first?.k ?? 10
        let metrics = [
            Metric(title: "recall@\(k) per window") { $0.recall },
            Metric(title: "NDCG@\(k) per window") { $0.ndcg },
            Metric(title: "precision@\(k) per window") { $0.precision },
            Metric(title: "F1@\(k) per window") { $0.f1 },
            Metric(title: "sampled AUC per window (\(reports.first?.aucSamples ?? 0) unconsumed items per event)") {
                $0.auc ?? 0
            },
            Metric(title: "exposure Gini per window") { $0.exposureGini },
            Metric(title: "exposure entropy (bits) per window") { $0.exposureEntropy },
            Metric(title: "share of lists with an item outside the top-1% most popular, per window") {
                $0.longTailShare
            },
        ]
        var out = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>
            body{font:14px/1.4 system-ui,sans-serif;color:#1d2330;margin:24px;}
            h1{font-size:20px} h2{font-size:15px;margin:24px 0 4px}
            table{border-collapse:collapse} td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #e4e7ec}
            td:first-child,th:first-child{text-align:left}
            svg text{font-size:11px;fill:#667085} .grid{stroke:#e4e7ec} polyline{fill:none;stroke-width:2}
            </style></head><body>
            <h1>\(escape(title))</h1>

            """
        out += summaryTable(reports)
        for metric in metrics {
            out += "<h2>\(escape(metric.title))</h2>\n"
            out += svgChart(reports, metric: metric)
        }
        out += "</body></html>\n"
        return out
    }

    /// One chart as an `<svg>` element: gridlines with y labels, x axis in events, a polyline per report
    /// and a legend.
    public static func svgChart(_ reports: [ReplayReport], metric: Metric) -> String {
        let series = reports.map { r in r.windows.map { (x: Double($0.endEvent + 1), y: metric.value($0)) } }
        let allX = series.flatMap { $0.map(\.x) }
        let allY = series.flatMap { $0.map(\.y) }
        let xMax = max(allX.max() ?? 1, 1)
        let yMax = niceCeiling(max(allY.max() ?? 0, 1e-9) * 1.05)
        let plotW = width - padLeft - padRight
        let plotH = height - padTop - padBottom
        func px(_ x: Double) -> Double { padLeft + x / xMax * plotW }
        func py(_ y: Double) -> Double { padTop + (1 - y / yMax) * plotH }

        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(escape(metric.title))\">\n"
        for i in 0...4 {
            let v = yMax * Double(i) / 4
            svg +=
                "<line class=\"grid\" x1=\"\(f(padLeft))\" x2=\"\(f(width - padRight))\" y1=\"\(f(py(v)))\" y2=\"\(f(py(v)))\"/>"
            svg +=
                "<text x=\"\(f(padLeft - 6))\" y=\"\(f(py(v) + 4))\" text-anchor=\"end\">\(String(format: "%.3f", v))</text>\n"
        }
        for i in 0...4 {
            let x = xMax * Double(i) / 4
            let anchor = i == 4 ? "end" : "middle"  // keep the last label inside the image
            svg +=
                "<text x=\"\(f(px(x)))\" y=\"\(f(height - padBottom + 16))\" text-anchor=\"\(anchor)\">\(Int(x.rounded()))</text>"
        }
        svg += "<text x=\"\(f(padLeft + plotW / 2))\" y=\"\(f(height - 4))\" text-anchor=\"middle\">events</text>\n"
        for (index, report) in reports.enumerated() {
            let color = palette[index % palette.count]
            let points = series[index].map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            svg +=
                "<polyline class=\"series\" data-model=\"\(escape(report.ranker))\" stroke=\"\(color)\" points=\"\(points)\"/>\n"
            let ly = padTop + 14 * Double(index) + 8
            svg +=
                "<rect x=\"\(f(width - padRight - 110))\" y=\"\(f(ly - 8))\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
            svg += "<text x=\"\(f(width - padRight - 95))\" y=\"\(f(ly + 1))\">\(escape(report.ranker))</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    static func summaryTable(_ reports: [ReplayReport]) -> String {
        guard let k = reports.first?.k else { return "<p>no reports</p>\n" }
        var t =
            "<table><tr><th>model</th><th>events</th><th>scored</th><th>recall@\(k)</th><th>NDCG@\(k)</th><th>MRR@\(k)</th>"
            + "<th>P@\(k)</th><th>F1@\(k)</th><th>AUC</th><th>exposure Gini</th><th>exposure entropy</th><th>tail lists</th>"
            + "<th>windows</th></tr>\n"
        func v(_ x: Double) -> String { String(format: "%.4f", x) }
        for r in reports {
            t +=
                "<tr><td>\(escape(r.ranker))</td><td>\(r.consumedEvents)</td><td>\(r.scoredEvents)</td>"
                + "<td>\(v(r.recall))</td><td>\(v(r.ndcg))</td><td>\(v(r.mrr))</td><td>\(v(r.precision))</td>"
                + "<td>\(v(r.f1))</td><td>\(r.auc.map(v) ?? "n/a")</td><td>\(v(r.exposureGini))</td>"
                + "<td>\(String(format: "%.2f", r.exposureEntropy))</td><td>\(v(r.longTailShare))</td>"
                + "<td>\(r.windows.count)</td></tr>\n"
        }
        return t + "</table>\n"
    }

    /// Rounds up to 1, 2 or 5 × a power of ten, so gridlines land on readable values.
    static func niceCeiling(_ v: Double) -> Double {
        let p = pow(10, floor(log10(v)))
        for m in [1.0, 2.0, 5.0, 10.0] where m * p >= v { return m * p }
        return 10 * p
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
