import Logging
import Synchronization

/// A LogHandler that keeps every line (level + message) for assertions on what was logged.
final class LogCapture: Sendable {
    let lines = Mutex<[(level: Logger.Level, message: String)]>([])

    var logger: Logger {
        var l = Logger(label: "streamrec.test.capture") { _ in Handler(capture: self) }
        l.logLevel = .trace
        return l
    }

    func count(_ level: Logger.Level, containing text: String) -> Int {
        lines.withLock { $0.filter { $0.level == level && $0.message.contains(text) }.count }
    }

    func contains(_ text: String) -> Bool { lines.withLock { $0.contains { $0.message.contains(text) } } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let extra = (event.metadata ?? [:]).map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " ")
            capture.lines.withLock { $0.append((event.level, "\(event.message) \(extra)")) }
        }
    }
}
