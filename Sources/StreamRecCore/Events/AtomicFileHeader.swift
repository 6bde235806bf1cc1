import Foundation

/// Column layout of a RecBole atomic file (`.inter`): a tab-separated header of `name:type` fields, e.g.
/// `user_id:token  item_id:token  rating:float  timestamp:float` (MovieLens 100K as RecBole ships it).
/// Columns are matched by name, so files with other column orders, extra columns or no rating load too.
struct AtomicFileHeader: Sendable, Equatable {
    var user: Int
    var item: Int
    var timestamp: Int
    /// nil when the file has no rating column (every event then has no explicit weight).
    var rating: Int?
    var fieldCount: Int

    /// Parses a header line; nil when the line is not one (its fields lack `:type` suffixes or the
    /// user / item / timestamp columns).
    init?(_ line: UnsafeRawBufferPointer) {
        let text = String(decoding: line, as: UTF8.self)
        let names = text.split(separator: "\t", omittingEmptySubsequences: false).map { field -> String? in
            let parts = field.trimmingCharacters(in: .whitespaces).split(separator: ":")
            guard parts.count == 2, ["token", "float", "token_seq", "float_seq"].contains(parts[1]) else { return nil }
            return parts[0].lowercased()
        }
        guard names.allSatisfy({ $0 != nil }) else { return nil }
        func column(_ aliases: [String]) -> Int? { names.firstIndex { aliases.contains($0!) } }
        guard let user = column(["user_id", "user", "uid"]), let item = column(["item_id", "item", "iid"]),
            let timestamp = column(["timestamp", "ts", "time"])
        else { return nil }
        self.user = user
        self.item = item
        self.timestamp = timestamp
        rating = column(["rating", "score"])
        fieldCount = names.count
    }
}
