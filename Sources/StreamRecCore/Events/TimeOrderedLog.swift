/// A whole event log in time order, as every backtest consumes it (`replay`, `tune`, `produce`,
/// `evaluate-policy`, `http-demo`): read in file order, then stably sorted by timestamp if it wasn't
/// already (ties keep file order, so the result is deterministic).
public struct TimeOrderedLog: Sendable {
    public var events: [Event]
    /// What reading found (lines, malformed lines with examples).
    public var stats: EventLogReadStats
    /// The file was not in time order and was sorted.
    public var wasSorted: Bool

    public init(path: String, format: EventLogFormat = .auto, limits: EventLimits = .init()) throws(EventLogReaderError)
    {
        let loaded = try EventLogReader.readAll(path: path, format: format, limits: limits)
        stats = loaded.stats
        wasSorted = !Event.isSortedByTime(loaded.events)
        events = wasSorted ? Event.sortedByTime(loaded.events) : loaded.events
    }
}
