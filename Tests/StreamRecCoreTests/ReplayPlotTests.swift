import Foundation
import StreamRecCore
import Testing

@Suite("replay plot")
struct ReplayPlotTests {
    func reports() throws -> [ReplayReport] {
        let events = try SyntheticLogGenerator.generate(
            SyntheticLogConfig(users: 100, items: 60, events: 2_000, topics: 4)
        )
        var options = ReplayOptions()
        options.k = 5
        options.windowSize = 300
        options.measureDiversity = false
        return try [ModelConfig.Ranker.mf, .popularity].map { ranker in
            var config = ModelConfig()
            config.ranker = ranker
            config.factors = 8
            var session = try ReplaySession(config: config, options: options)
            return try session.run(events: events)
        }
    }

    @Test("HTML with one SVG chart per metric and one polyline per model")
    func polylines() throws {
        let reports = try reports()
        let html = ReplayPlot.html(reports, title: "test <run>")
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(html.contains("test &lt;run&gt;"))
        let charts = 8  // recall, NDCG, precision, F1, AUC, exposure Gini, exposure entropy, long-tail share
        #expect(html.components(separatedBy: "<svg ").count - 1 == charts)
        #expect(html.components(separatedBy: "</svg>").count - 1 == charts)
        for title in [
            "recall@5 per window", "NDCG@5 per window", "precision@5 per window", "F1@5 per window",
            "sampled AUC per window (100 unconsumed items per event)", "exposure Gini per window",
            "exposure entropy (bits) per window", "top-1% most popular",
        ] {
            #expect(html.contains(title), "missing chart \(title)")
        }
        #expect(!html.contains("<script"))
        #expect(!html.contains("src="))

        let polylines = html.components(separatedBy: "<polyline").dropFirst()
        #expect(polylines.count == charts * reports.count)
        for (index, chunk) in polylines.enumerated() {
            let model = reports[index % reports.count]
            #expect(chunk.contains("data-model=\"\(model.ranker)\""))
            let pointsAttr = try #require(chunk.range(of: "points=\"")).upperBound
            let points = chunk[pointsAttr...].prefix { $0 != "\"" }.split(separator: " ")
            #expect(points.count == model.windows.count)
            for p in points {
                let xy = p.split(separator: ",").compactMap { Double($0) }
                #expect(xy.count == 2)
                #expect(xy[0] >= 0 && xy[0] <= 720 && xy[1] >= 0 && xy[1] <= 300)
            }
        }
    }

    @Test("no reports: a valid, empty chart")
    func empty() {
        let svg = ReplayPlot.svgChart([], metric: .init(title: "x") { $0.recall })
        #expect(svg.hasPrefix("<svg "))
        #expect(svg.hasSuffix("</svg>\n"))
        #expect(!svg.contains("<polyline"))
        #expect(!svg.contains("nan"))
    }
}
