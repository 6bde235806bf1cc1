import ArgumentParser
import StreamRecCore

/// How a log's ratings become implicit feedback, shared by `replay` and `tune`.
struct LogOptions: ParsableArguments {
    @Option(help: """
        Weight of a rated event: auto (a rating counts as one interaction; other events keep their \
        weight), rating (the SGD step is scaled by the rating), one (every event counts 1).
        """)
    var weightFrom: EventWeights.WeightSource = .auto
    @Option(help: "Keep only rated events with rating >= this (e.g. 4: liked items); unrated events are kept.")
    var minRating: Float?

    func validate() throws {
        if let m = minRating, !m.isFinite { throw ValidationError("--min-rating must be a number") }
    }

    var weights: EventWeights { EventWeights(source: weightFrom) }

    /// Applies `--min-rating` (time order is kept).
    func filter(_ events: [Event]) -> [Event] {
        guard let minRating else { return events }
        let kept = Event.keepingRatings(atLeast: minRating, in: events)
        stderr("--min-rating \(minRating): kept \(kept.count) of \(events.count) events")
        return kept
    }
}

extension EventWeights.WeightSource: ExpressibleByArgument {}
