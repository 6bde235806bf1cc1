import Hummingbird

/// Every endpoint of the operations API is a read: `GET` and `HEAD` are served (HEAD routes share the
/// GET handlers; their body is dropped here, the length kept), anything else gets 405 with
/// `Allow: GET, HEAD` and the API's JSON error body.
struct ReadOnlyMethods: RouterMiddleware {
    typealias Context = BasicRequestContext
    static let allow = "GET, HEAD"

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        switch request.method {
        case .get:
            return try await next(request, context)
        case .head:
            var response = try await next(request, context)
            let length = response.body.contentLength
            response.body = .init()
            if let length { response.headers[.contentLength] = String(length) }
            return response
        default:
            var response = OperationsAPI.APIError(
                .methodNotAllowed,
                "method \(request.method) not allowed; use GET or HEAD"
            ).response
            response.headers[.allow] = Self.allow
            return response
        }
    }
}
