import Foundation
public import Hummingbird
import Prometheus
public import StreamRecCore

/// The operations API's handlers, independent of any socket: ``OperationsServer`` serves them, tests
/// drive them through HummingbirdTesting's `.router` framework via ``makeRouter()``.
///
/// Endpoints:
/// - `GET /healthz` — 200 while the process runs.
/// - `GET /readyz` — 200 or 503 with the ``ReadinessPolicy/Report`` JSON.
/// - `GET /users/{id}/recommendations?k=` — a fresh top-K from the live model (`RecommendationList` JSON,
///   `"fallback":"popularity"` for unknown users, `"source":"live-model"`). With ``remoteLists`` set, a user
///   whose partition another instance learns gets its latest list from the recommendations topic instead
///   (`"source":"recommendations-topic"`, `"age_ms"`), or 404 naming the owning group and partition
///   (``recommendations(rawId:query:)``, RemoteListAnswer.swift).
/// - `GET /items/{id}/similar?k=` — nearest items by factor cosine; 404 for an unknown item.
/// - `GET /stats` — ``ServeStatus`` plus learner counters and sizes (what the live view plots).
/// - `GET /metrics` — Prometheus text format.
/// - `GET /` — the live view (``LiveViewPage``).
///
/// Every endpoint also answers `HEAD`; other methods get 405 with `Allow: GET, HEAD` (``ReadOnlyMethods``).
///
/// Bad input (k not an integer or outside 1...maxK, ids over `maxIdBytes`) gets 400 with `{"error": "..."}`.
public struct OperationsAPI: Sendable {
    public let configuration: HTTPConfig
    /// The process's learners (one, or N with `serve.learners`): users are answered by their owner.
    public let learners: LearnerGroup
    public let metrics: StreamRecMetrics
    public let readiness: ReadinessPolicy
    /// Lists of users other instances learn (`http.remote_lists`); nil: every user from the local model.
    public let remoteLists: RemoteListView?
    /// Milliseconds since the epoch; injectable so tests can pin timestamps.
    public let now: @Sendable () -> Int64

    public init(
        configuration: HTTPConfig,
        learner: LiveLearner,
        status: ServeStatus,
        metrics: StreamRecMetrics,
        readiness: ReadinessPolicy,
        remoteLists: RemoteListView? = nil,
        now: @escaping @Sendable () -> Int64 = OperationsAPI.wallClockMillis
    ) {
        self.init(
            configuration: configuration,
            learners: LearnerGroup(learner: learner, status: status),
            metrics: metrics,
            readiness: readiness,
            remoteLists: remoteLists,
            now: now
        )
    }

    public init(
        configuration: HTTPConfig,
        learners: LearnerGroup,
        metrics: StreamRecMetrics,
        readiness: ReadinessPolicy,
        remoteLists: RemoteListView? = nil,
        now: @escaping @Sendable () -> Int64 = OperationsAPI.wallClockMillis
    ) {
        self.configuration = configuration
        self.learners = learners
        self.metrics = metrics
        self.readiness = readiness
        self.remoteLists = remoteLists
        self.now = now
    }

    @Sendable public static func wallClockMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// The Hummingbird router with every endpoint and a middleware that counts requests by route and
    /// status and turns routing errors (404/405) into the same JSON error body as the handlers.
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: RequestAccounting(metrics: metrics))
        router.add(middleware: ReadOnlyMethods())
        // Every endpoint answers GET and HEAD (probes, load balancers); ReadOnlyMethods drops HEAD bodies.
        func read(
            _ path: RouterPath,
            _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response
        ) {
            router.get(path, use: handler)
            router.head(path, use: handler)
        }
        read("/healthz") { _, _ in self.healthz() }
        read("/readyz") { _, _ in self.readyz() }
        read("/users/:id/recommendations") { request, context in
            self.recommendations(rawId: context.parameters.get("id"), query: request.uri.queryParameters.get("k"))
        }
        read("/items/:id/similar") { request, context in
            self.similar(rawId: context.parameters.get("id"), query: request.uri.queryParameters.get("k"))
        }
        read("/stats") { _, _ in self.stats() }
        read("/metrics") { _, _ in self.prometheus() }
        read("/") { _, _ in self.liveView() }
        return router
    }

    // MARK: Handlers

    func healthz() -> Response {
        Self.json(#"{"status":"ok"}"#)
    }

    func readyz() -> Response {
        let report = readiness.evaluate(learners.status)
        return Self.json(Self.encode(report), status: report.ready ? .ok : .serviceUnavailable)
    }

    func recommendations(rawId: String?, query: String?) -> Response {
        let id: String
        let k: Int
        switch (validateId(rawId, what: "user"), parseK(query)) {
        case (.failure(let e), _), (_, .failure(let e)): return e.response
        case (.success(let i), .success(let kk)): (id, k) = (i, kk)
        }
        if let remoteLists,
            case .other(let partitions) = remoteLists.ownership(
                of: id,
                assigned: Set(learners.status.partitions.map(\.key))
            )
        {
            return remoteAnswer(user: id, k: k, owners: partitions, view: remoteLists)
        }
        let started = ContinuousClock.now
        let list: RecommendationList = learners.learner(forUser: id).read { l in
            var selector = RankingPipeline()
            var top = [ScoredIndex]()
            top.reserveCapacity(k)
            let slot = l.users.index(of: id)
            l.recommend(userSlot: slot, k: k, pipeline: &selector, into: &top)
            return l.recommendationList(user: id, userSlot: slot, ranked: top, timestamp: now())
        }
        metrics.recordTopK(ContinuousClock.now - started, source: .http)
        return Self.listResponse(Self.marked(list.jsonBytes(), source: .liveModel, ageMillis: nil), source: .liveModel)
    }

    /// The `/items/{id}/similar` body.
    public struct SimilarItems: Codable, Sendable, Equatable {
        public var item: String
        public var items: [Scored]
        public var modelVersion: String
        public var ts: Int64

        public struct Scored: Codable, Sendable, Equatable {
            public var item: String
            public var score: Float
        }

        enum CodingKeys: String, CodingKey {
            case item, items, ts
            case modelVersion = "model_version"
        }
    }

    func similar(rawId: String?, query: String?) -> Response {
        let id: String
        let k: Int
        switch (validateId(rawId, what: "item"), parseK(query)) {
        case (.failure(let e), _), (_, .failure(let e)): return e.response
        case (.success(let i), .success(let kk)): (id, k) = (i, kk)
        }
        let body: SimilarItems? = learners.primary.read { l in
            guard let slot = l.items.index(of: id) else { return nil }
            var selector = RankingPipeline()
            var top = [ScoredIndex]()
            l.similarItems(toItemSlot: slot, k: k, pipeline: &selector, into: &top)
            let items = top.compactMap { s in
                l.items.id(at: s.index).map {
                    SimilarItems.Scored(item: $0, score: RecommendationList.wireScore(s.score))
                }
            }
            return SimilarItems(item: id, items: items, modelVersion: l.modelVersion, ts: now())
        }
        guard let body else { return APIError(.notFound, "unknown item").response }
        return Self.json(Self.encode(body))
    }

    /// The `/stats` body: the serving loop's status plus what the learner knows about itself.
    public struct Stats: Codable, Sendable, Equatable {
        public var status: ServeStatus.Snapshot
        public var totalLag: Int64
        public var learner: LearnerStats
        public var onlineRecallK: Int
        public var now: Int64
        /// The view of the recommendations topic (`http.remote_lists`); absent when off.
        public var remoteLists: RemoteListView.Stats?

        public struct LearnerStats: Codable, Sendable, Equatable {
            public var users: Int
            public var items: Int
            public var counters: LearnerCounters
            public var modelVersion: String
            public var ranker: String
            public var allocatedBytes: Int
        }
    }

    func currentStats() -> Stats {
        let s = learners.status
        let f = learners.facts()
        let learnerStats = Stats.LearnerStats(
            users: f.users,
            items: f.items,
            counters: f.counters,
            modelVersion: f.modelVersion,
            ranker: f.ranker,
            allocatedBytes: f.allocatedBytes
        )
        return Stats(
            status: s,
            totalLag: s.totalLag,
            learner: learnerStats,
            onlineRecallK: metrics.recallK,
            now: now(),
            remoteLists: remoteLists?.stats
        )
    }

    func stats() -> Response {
        var response = Self.json(Self.encode(currentStats()))
        response.headers[.cacheControl] = "no-store"
        return response
    }

    func prometheus() -> Response {
        let f = learners.facts()
        metrics.refresh(
            status: learners.status,
            learner: .init(users: f.users, items: f.items, counters: f.counters),
            now: now()
        )
        metrics.recordReadiness(readiness.evaluate(learners.status).ready)
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer()))
        )
    }

    func liveView() -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(
                byteBuffer: ByteBuffer(
                    string: LiveViewPage.html(
                        pollMillis: configuration.liveViewPollMillis,
                        recallK: metrics.recallK
                    )
                )
            )
        )
    }

    // MARK: Input validation

    /// A client error with its JSON body.
    struct APIError: Error {
        var status: HTTPResponse.Status
        var message: String
        init(_ status: HTTPResponse.Status, _ message: String) {
            self.status = status
            self.message = message
        }
        var response: Response { OperationsAPI.json(OperationsAPI.encode(["error": message]), status: status) }
    }

    func validateId(_ raw: String?, what: String) -> Result<String, APIError> {
        guard let raw else { return .failure(APIError(.badRequest, "missing \(what) id")) }
        // Router parameters arrive percent-encoded; ids are opaque strings and may contain anything.
        guard let id = raw.removingPercentEncoding, !id.isEmpty else {
            return .failure(APIError(.badRequest, "\(what) id is empty or badly percent-encoded"))
        }
        guard id.utf8.count <= configuration.maxIdBytes else {
            return .failure(APIError(.badRequest, "\(what) id longer than \(configuration.maxIdBytes) bytes"))
        }
        return .success(id)
    }

    func parseK(_ raw: String?) -> Result<Int, APIError> {
        guard let raw else { return .success(configuration.defaultK) }
        guard let k = Int(raw) else { return .failure(APIError(.badRequest, "k must be an integer")) }
        guard k >= 1 && k <= configuration.maxK else {
            return .failure(APIError(.badRequest, "k must be in 1...\(configuration.maxK)"))
        }
        return .success(k)
    }

    // MARK: JSON

    static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity",
            negativeInfinity: "-Infinity",
            nan: "NaN"
        )
        return (try? encoder.encode(value)).map { [UInt8]($0) } ?? Array(#"{"error":"encoding failed"}"#.utf8)
    }

    static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }

    static func json(_ string: String, status: HTTPResponse.Status = .ok) -> Response {
        json(Array(string.utf8), status: status)
    }
}

/// Counts responses by route pattern and status, and answers routing errors (unknown path, wrong
/// method) with the API's JSON error body instead of an empty one.
struct RequestAccounting: RouterMiddleware {
    typealias Context = BasicRequestContext
    let metrics: StreamRecMetrics

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            let response = try await next(request, context)
            metrics.recordHTTPRequest(route: context.endpointPath ?? "unmatched", status: response.status.code)
            return response
        } catch let error as HTTPError {
            metrics.recordHTTPRequest(route: context.endpointPath ?? "unmatched", status: error.status.code)
            let message = error.body ?? (error.status == .notFound ? "not found" : error.status.reasonPhrase)
            return OperationsAPI.APIError(error.status, message).response
        }
    }
}
