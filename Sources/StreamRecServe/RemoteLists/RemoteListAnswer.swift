import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StreamRecCore

/// `/users/{id}/recommendations` for a user whose partition another instance learns: the latest list
/// from the recommendations topic, marked as such, or a 404 that names the owner.
extension OperationsAPI {
    /// Where an answer came from: the JSON member `source` and the `X-StreamRec-Source` header (which
    /// HEAD requests, having no body, also get).
    public enum ListSource: String, Sendable {
        case liveModel = "live-model"
        case recommendationsTopic = "recommendations-topic"
    }

    static let sourceHeader = HTTPField.Name("X-StreamRec-Source")!

    /// The 404 body for a user nobody here can answer for.
    struct NotOwned: Encodable {
        struct Owner: Encodable {
            var topic: String
            var partition: Int32
        }
        var error: String
        /// The consumer group whose member assigned these partitions learns the user.
        var group: String
        var partitions: [Owner]
    }

    func remoteAnswer(user: String, k: Int, owners: [TopicPartition], view: RemoteListView) -> Response {
        guard let entry = view.list(for: user) else {
            let names = owners.map { "\($0.topic)[\($0.partition)]" }.joined(separator: ", ")
            let body = NotOwned(
                error:
                    "user is on partition \(names), which this instance does not learn, and the recommendations topic "
                    + "has no list for it here yet: ask the member of consumer group '\(view.groupID)' assigned that partition",
                group: view.groupID,
                partitions: owners.map { .init(topic: $0.topic, partition: $0.partition) }
            )
            return Self.json(Self.encode(body), status: .notFound)
        }
        // The stored bytes are served as produced unless the client asked for fewer items.
        guard var list = try? RecommendationList(jsonBytes: entry.bytes) else {
            return APIError(.badGateway, "the recommendations topic's list for this user is not a valid list").response
        }
        var bytes = entry.bytes
        if list.items.count > k {
            list.items.removeLast(list.items.count - k)
            bytes = list.jsonBytes()
        }
        let age = max(0, now() - list.timestamp)
        return Self.listResponse(
            Self.marked(bytes, source: .recommendationsTopic, ageMillis: age),
            source: .recommendationsTopic
        )
    }

    /// `json` (an object) with `"source"` (and `"age_ms"`) appended as its last members; every other byte unchanged.
    static func marked(_ json: [UInt8], source: ListSource, ageMillis: Int64?) -> [UInt8] {
        var out = json
        while let last = out.last, last == 0x20 || last == 0x0A || last == 0x0D || last == 0x09 { out.removeLast() }
        guard out.last == UInt8(ascii: "}") else { return json }
        out.removeLast()
        let empty = out.last == UInt8(ascii: "{")
        out.append(contentsOf: (empty ? "" : ",").utf8)
        out.append(contentsOf: #""source":""#.utf8)
        out.append(contentsOf: source.rawValue.utf8)
        out.append(UInt8(ascii: "\""))
        if let ageMillis { out.append(contentsOf: #","age_ms":\#(ageMillis)"#.utf8) }
        out.append(UInt8(ascii: "}"))
        return out
    }

    static func listResponse(_ bytes: [UInt8], source: ListSource) -> Response {
        var response = json(bytes)
        response.headers[sourceHeader] = source.rawValue
        return response
    }
}
