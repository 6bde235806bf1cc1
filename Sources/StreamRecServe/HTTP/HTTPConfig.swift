/// Where and how the operations HTTP API listens, and the limits it enforces on input.
public struct HTTPConfig: Sendable, Equatable, Codable {
    /// Bind address. Loopback by default: the API has no authentication, so exposing it is an explicit
    /// operator decision (e.g. `0.0.0.0` behind a Kubernetes Service).
    public var host: String
    /// TCP port; 0 picks a free one (tests, scripts), reported through `onServerRunning`.
    public var port: Int
    /// `k` used when a query has none.
    public var defaultK: Int
    /// Largest accepted `k` (a top-K holds the learner's lock for its duration).
    public var maxK: Int
    /// Longest accepted user or item id in UTF-8 bytes (the same cap the event decoder applies).
    public var maxIdBytes: Int
    /// How often the live view polls `/stats`, in milliseconds.
    public var liveViewPollMillis: Int
    /// A connection with no complete request head for this long is closed: covers idle keep-alive
    /// connections and slowloris clients trickling a header (one timer, restarted by each request head
    /// and each finished response).
    public var idleTimeoutSeconds: Double

    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        defaultK: Int = 10,
        maxK: Int = 1000,
        maxIdBytes: Int = 256,
        liveViewPollMillis: Int = 1000,
        idleTimeoutSeconds: Double = 10
    ) {
        self.host = host
        self.port = port
        self.defaultK = defaultK
        self.maxK = maxK
        self.maxIdBytes = maxIdBytes
        self.liveViewPollMillis = liveViewPollMillis
        self.idleTimeoutSeconds = idleTimeoutSeconds
    }
}
