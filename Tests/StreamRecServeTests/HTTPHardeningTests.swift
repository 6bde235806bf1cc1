import Foundation
import Hummingbird
import HummingbirdTesting
import StreamRecCore
import StreamRecTestSupport
import Testing

@testable import StreamRecServe

#if canImport(Glibc)
import Glibc
#endif

@Suite("Operations HTTP API: methods and timeouts")
struct HTTPHardeningTests {
    static func api(idleTimeout: Double = 10) throws -> OperationsAPI {
        OperationsAPI(
            configuration: HTTPConfig(idleTimeoutSeconds: idleTimeout),
            learner: LiveLearner(try makeLearner()),
            status: ServeStatus(),
            metrics: StreamRecMetrics(recallK: 10),
            readiness: ReadinessPolicy()
        )
    }

    @Test(
        "non-GET methods get 405 with Allow: GET, HEAD",
        arguments: [HTTPRequest.Method.post, .put, .delete, .patch, .options]
    )
    func methodNotAllowed(method: HTTPRequest.Method) async throws {
        try await Application(router: try Self.api().makeRouter()).test(.router) { client in
            for uri in ["/healthz", "/users/u1/recommendations", "/metrics"] {
                let r = try await client.execute(uri: uri, method: method)
                #expect(r.status == .methodNotAllowed, "\(method) \(uri)")
                #expect(r.headers[.allow] == "GET, HEAD")
            }
        }
    }

    @Test("HEAD on the probes answers like GET, without a body")
    func head() async throws {
        try await Application(router: try Self.api().makeRouter()).test(.router) { client in
            let health = try await client.execute(uri: "/healthz", method: .head)
            #expect(health.status == .ok)
            #expect(health.body.readableBytes == 0)
            let ready = try await client.execute(uri: "/readyz", method: .head)
            #expect(ready.status == .serviceUnavailable)  // nothing started: same verdict as GET
            #expect(ready.body.readableBytes == 0)
        }
    }

    static func onThread(_ body: @escaping @Sendable () -> Bool) async -> Bool {
        await withCheckedContinuation { continuation in Thread { continuation.resume(returning: body()) }.start() }
    }

    /// Opens a raw TCP connection, sends `bytes`, and reports whether the server closed it within `seconds`.
    static func closedByServer(port: Int, sending bytes: String, within seconds: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return false }
        _ = bytes.withCString { send(fd, $0, strlen($0), 0) }
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return true }  // orderly close by the server
            if n < 0 { return errno == ECONNRESET }  // timed out (still open) or reset
        }
    }

    @Test("half-sent headers and idle keep-alive connections are closed after the idle timeout")
    func slowloris() async throws {
        let app = OperationsServer(
            configuration: HTTPConfig(port: 0, idleTimeoutSeconds: 1),
            learner: LiveLearner(try makeLearner()),
            status: ServeStatus(),
            metrics: StreamRecMetrics(recallK: 10),
            readiness: ReadinessPolicy(),
            logger: quietLogger
        )
        .makeApplication()
        try await app.test(.live) { client in
            let port = try #require(client.port)
            // Blocking sockets on their own threads: blocking the cooperative pool would stall the server's
            // request handling (which runs on it) and keep the keep-alive connection busy, not idle.
            async let halfHeader = Self.onThread {
                Self.closedByServer(port: port, sending: "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", within: 30)
            }
            async let idle = Self.onThread {
                Self.closedByServer(port: port, sending: "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", within: 30)
            }
            #expect(await halfHeader, "a half-sent header kept the connection open")
            #expect(await idle, "an idle keep-alive connection stayed open")
        }
    }
}
