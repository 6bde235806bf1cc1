import Foundation
import Testing

@testable import StreamRecCore

@Suite("Replay metrics: AUC, precision, F1, exposure, long tail")
struct ReplayMetricsTests {
    func config(_ ranker: ModelConfig.Ranker) -> ModelConfig {
        var c = ModelConfig()
        c.ranker = ranker
        c.factors = 16
        return c
    }

    @Test("Gini and entropy of exposure match hand-computed values")
    func giniEntropy() {
        #expect(ExposureCounts.gini([1, 1, 1, 1], catalog: 4) == 0)
        // One item holds everything in a catalog of 4: Σ(2i−n−1)x / (n Σx) = (3·4)/(4·4).
        #expect(abs(ExposureCounts.gini([4], catalog: 4) - 0.75) < 1e-12)
        // Sorted [1, 3]: (−1·1 + 1·3) / (2·4) = 0.25.
        #expect(abs(ExposureCounts.gini([3, 1], catalog: 2) - 0.25) < 1e-12)
        #expect(ExposureCounts.gini([], catalog: 10) == 0)
        #expect(abs(ExposureCounts.entropy([1, 1, 1, 1]) - 2) < 1e-12)
        #expect(abs(ExposureCounts.entropy([1, 0, 3]) - (0.5 + 0.75 * log2(4.0 / 3))) < 1e-12)
        #expect(ExposureCounts.entropy([0, 5]) == 0)
    }

    @Test("precision@K, F1@K and exposure over an evaluator's lists follow their definitions")
    func precisionF1Exposure() throws {
        var learner = try OnlineLearner(config: config(.popularity))
        for (u, i) in [("a", "x"), ("b", "x"), ("c", "y"), ("d", "z")] {
            try learner.learn(user: u, item: i, timestamp: 0, weight: 1)
        }
        let x = learner.items.index(of: "x")!
        let y = learner.items.index(of: "y")!
        let z = learner.items.index(of: "z")!
        var ev = PrequentialEvaluator(k: 2, windowSize: 2)
        ev.record(
            eventIndex: 0,
            recommended: [.init(index: x, score: 2), .init(index: y, score: 1)],
            target: y,
            learner: learner,
            measureDiversity: false
        )  // hit at rank 2
        ev.record(
            eventIndex: 1,
            recommended: [.init(index: x, score: 2), .init(index: z, score: 1)],
            target: nil,
            learner: learner,
            measureDiversity: false
        )  // miss
        #expect(ev.totals.recall == 0.5)
        #expect(ev.totals.precision(k: 2) == 0.25)  // 1 hit / (K=2 · 2 lists)
        #expect(abs(ev.totals.f1(k: 2) - 1.0 / 3) < 1e-12)  // (F1 = 2/(K+1) for the hit + 0) / 2
        // Exposure x:2, y:1, z:1 over 3 live items: sorted [1,1,2] → (−2·1 + 0·1 + 2·2)/(3·4) = 1/6.
        #expect(abs(ev.exposure.gini(catalog: 3) - 1.0 / 6) < 1e-12)
        #expect(abs(ev.exposure.entropy() - 1.5) < 1e-12)
        let w = try #require(ev.windows.first)
        #expect(w.precision == 0.25 && abs(w.f1 - 1.0 / 3) < 1e-12)
        #expect(abs(w.exposureGini - 1.0 / 6) < 1e-12 && abs(w.exposureEntropy - 1.5) < 1e-12)
        #expect(w.auc == nil)  // AUC off (0 samples)
    }

    @Test("long-tail share: a list counts when it holds an item outside the top-1% most popular")
    func longTail() throws {
        var learner = try OnlineLearner(config: config(.popularity))
        // 200 items with distinct popularity 1...200: the head (top 1%) is the 2 most popular.
        for i in 0..<200 { try learner.learn(user: "u\(i)", item: "i\(i)", timestamp: 0, weight: Float(i + 1)) }
        let slot = { (i: Int) in learner.items.index(of: "i\(i)")! }
        #expect(LongTailCut.headThreshold(learner: learner) == 199)
        var ev = PrequentialEvaluator(k: 2, windowSize: 10)
        let head = [ScoredIndex(index: slot(199), score: 2), ScoredIndex(index: slot(198), score: 1)]
        let mixed = [ScoredIndex(index: slot(199), score: 2), ScoredIndex(index: slot(197), score: 1)]
        for list in [head, mixed, head, mixed, mixed] {
            ev.record(eventIndex: 0, recommended: list, target: nil, learner: learner, measureDiversity: false)
        }
        #expect(ev.totals.tailLists == 3)
        #expect(abs(ev.totals.longTailShare - 0.6) < 1e-12)
    }

    @Test("sampled AUC: exact on hand-built cases (all below → 1, only ties → 0.5, consumed items never drawn)")
    func aucHandCases() throws {
        var learner = try OnlineLearner(config: config(.popularity))
        for (u, i, w) in [("a", "x", 3), ("b", "y", 2), ("c", "z", 1), ("d", "w", 1), ("u", "x", 1), ("u", "y", 1)] {
            try learner.learn(user: u, item: i, timestamp: 0, weight: Float(w))
        }
        let x = learner.items.index(of: "x")!
        let z = learner.items.index(of: "z")!
        var auc = SampledAUC(samples: 50, seed: 1)
        // Unknown user: x (popularity 4) beats every other item.
        #expect(auc.measure(learner: learner, userSlot: nil, target: x) == 1)
        // User u consumed x and y, so z (1) can only be compared with w (1): all ties.
        #expect(auc.measure(learner: learner, userSlot: learner.users.index(of: "u"), target: z) == 0.5)
        // User a consumed only x: z against y (above) and w (tie): strictly between 0 and 0.5.
        let measured = auc.measure(learner: learner, userSlot: learner.users.index(of: "a"), target: z)
        let mixed = try #require(measured)
        #expect(mixed > 0 && mixed < 0.5)
        var off = SampledAUC(samples: 0, seed: 1)
        #expect(off.measure(learner: learner, userSlot: nil, target: x) == nil)
    }

    @Test("replay AUC: MF well above popularity, random near 0.5, and sampling never touches the model")
    func replayAUC() throws {
        let events = try ReplayTests.plantedLog(events: 6000)
        var options = ReplayOptions()
        options.measureDiversity = false
        var auc: [ModelConfig.Ranker: Double] = [:]
        for ranker in ModelConfig.Ranker.allCases {
            var session = try ReplaySession(config: config(ranker), options: options)
            let report = try session.run(events: events)
            #expect(report.aucSamples == 100)
            let measured: Double = try #require(report.auc)
            auc[ranker] = measured
            #expect(report.exposureGini > 0 && report.exposureGini < 1)
            #expect(report.exposureEntropy > 0 && report.exposureEntropy <= log2(Double(report.items)) + 1e-9)
            #expect(report.longTailShare >= 0 && report.longTailShare <= 1)
            #expect(abs(report.precision - report.recall / 10) < 1e-12)
            #expect(report.windows.allSatisfy { $0.auc != nil })
        }
        let mf = try #require(auc[.mf])
        let pop = try #require(auc[.popularity])
        let rnd = try #require(auc[.random])
        #expect(mf > pop && pop > 0.6, "mf \(mf), popularity \(pop)")
        #expect(abs(rnd - 0.5) < 0.03, "random \(rnd)")

        var off = options
        off.aucSamples = 0
        var withAUC = try ReplaySession(config: config(.mf), options: options)
        var withoutAUC = try ReplaySession(config: config(.mf), options: off)
        let a = try withAUC.run(events: Array(events.prefix(2000)))
        let b = try withoutAUC.run(events: Array(events.prefix(2000)))
        #expect(withAUC.learner == withoutAUC.learner)
        #expect(a.recall == b.recall && b.auc == nil)
    }
}
