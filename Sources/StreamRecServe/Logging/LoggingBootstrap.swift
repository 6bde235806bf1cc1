public import Foundation
public import Logging

/// Process-wide swift-log set-up: human-readable lines on stderr (stdout stays free for command output)
/// at a level taken from configuration or the `STREAMREC_LOG_LEVEL` environment variable.
public enum LoggingBootstrap {
    /// The environment variable that overrides the configured level.
    public static let environmentVariable = "STREAMREC_LOG_LEVEL"

    /// The level to use: the environment variable wins over `configured`, which wins over `.info`.
    /// Unknown names are ignored rather than fatal, so a typo never stops the learner.
    public static func resolveLevel(
        configured: Logger.Level? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> Logger.Level {
        if let raw = environment[environmentVariable], let level = Logger.Level(rawValue: raw.lowercased()) {
            return level
        }
        return configured ?? .info
    }

    /// Bootstraps `LoggingSystem` once per process (swift-log traps on a second call, so only `main`
    /// calls this; libraries and tests just create `Logger`s). Returns the level in force.
    @discardableResult
    public static func bootstrap(configured: Logger.Level? = nil) -> Logger.Level {
        let level = resolveLevel(configured: configured)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return level
    }
}
