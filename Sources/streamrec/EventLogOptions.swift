public import ArgumentParser
import StreamRecCore

/// How a log's ratings become implicit feedback, shared by `replay` and `tune`.
struct EventLogOptions: ParsableArguments {
    @Option(
        help: """
            Weight of a rated event: auto (a rating counts as one interaction; other events keep their \
            weight), rating (the SGD step is scaled by the rating), one (every event counts 1).
            """
    )
    var weightFrom: EventWeights.WeightSource = .auto
    @Option(help: "Keep only rated events with rating >= this (e.g. 4: liked items); unrated events are kept.")
    var minRating: Float?
    @Option(
        help: """
            Unit of the log's timestamps: milliseconds (JSONL/CSV), or seconds (converted). MovieLens u.data \
            and .inter files are always read as seconds.
            """
    )
    var timestampUnit: EventTimeGuard.Unit = .milliseconds

    func validate() throws {
        if let m = minRating, !m.isFinite { throw ValidationError("--min-rating must be a number") }
    }

    var weights: EventWeights { EventWeights(source: weightFrom) }

    /// `base` (the config file's weights and limits) with `--weight-from` applied.
    func weights(base: EventWeights) -> EventWeights {
        var w = base
        w.source = weightFrom
        return w
    }

    /// Applies `--timestamp-unit` and `--min-rating` (time order is kept). Second timestamps read as
    /// milliseconds would put the whole log in 1970 (decay and TTL would see days as minutes): warned.
    func filter(_ loaded: [Event]) throws -> [Event] {
        var events = loaded
        switch timestampUnit {
        case .seconds:
            do { events = try EventTimeGuard.convertingSecondsToMillis(events) } catch { throw CLIError("\(error)") }
        case .milliseconds:
            let share = EventTimeGuard.secondsLookingShare(events)
            if share >= 0.5 {
                stderr(
                    "warning: \(Int(share * 100))% of timestamps look like seconds, not milliseconds; pass --timestamp-unit seconds if the log uses seconds"
                )
            }
        }
        guard let minRating else { return events }
        let kept = Event.keepingRatings(atLeast: minRating, in: events)
        stderr("--min-rating \(minRating): kept \(kept.count) of \(events.count) events")
        return kept
    }
}

extension EventWeights.WeightSource: ExpressibleByArgument {}
extension EventTimeGuard.Unit: ExpressibleByArgument {}
