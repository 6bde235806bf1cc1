public import Logging

/// A logger for code under test whose output is noise (librdkafka chatter while a broker starts,
/// the service's info lines): only critical lines get through.
public let quietLogger: Logger = {
    var logger = Logger(label: "streamrec.test")
    logger.logLevel = .critical
    return logger
}()
