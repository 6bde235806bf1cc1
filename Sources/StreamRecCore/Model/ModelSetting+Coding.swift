/// The JSON key of a setting: its Swift name, as the hand-written coding of earlier versions spelled it,
/// so snapshots and reports keep their bytes.
struct ModelSettingCodingKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension ModelSetting {
    func encode(_ c: ModelConfig, into container: inout KeyedEncodingContainer<ModelSettingCodingKey>) throws {
        let key = ModelSettingCodingKey(stringValue: name)
        switch field {
        case .int(let p): try container.encode(c[keyPath: p], forKey: key)
        case .float(let p): try container.encode(c[keyPath: p], forKey: key)
        case .double(let p): try container.encode(c[keyPath: p], forKey: key)
        case .bool(let p): try container.encode(c[keyPath: p], forKey: key)
        case .uint64(let p): try container.encode(c[keyPath: p], forKey: key)
        case .span(let p): try container.encode(c[keyPath: p], forKey: key)
        case .choice(let choice): try container.encode(choice.get(c), forKey: key)
        }
    }

    /// A missing key keeps the value in `c` (the default), so older configs and snapshots keep loading.
    func decode(from container: KeyedDecodingContainer<ModelSettingCodingKey>, into c: inout ModelConfig) throws {
        let key = ModelSettingCodingKey(stringValue: name)
        switch field {
        case .int(let p): c[keyPath: p] = try container.decodeIfPresent(Int.self, forKey: key) ?? c[keyPath: p]
        case .float(let p): c[keyPath: p] = try container.decodeIfPresent(Float.self, forKey: key) ?? c[keyPath: p]
        case .double(let p): c[keyPath: p] = try container.decodeIfPresent(Double.self, forKey: key) ?? c[keyPath: p]
        case .bool(let p): c[keyPath: p] = try container.decodeIfPresent(Bool.self, forKey: key) ?? c[keyPath: p]
        case .uint64(let p): c[keyPath: p] = try container.decodeIfPresent(UInt64.self, forKey: key) ?? c[keyPath: p]
        case .span(let p): c[keyPath: p] = try container.decodeIfPresent(Int64.self, forKey: key) ?? c[keyPath: p]
        case .choice(let choice):
            guard let text = try container.decodeIfPresent(String.self, forKey: key) else { return }
            guard choice.set(&c, text) else {
                throw DecodingError.dataCorruptedError(
                    forKey: key,
                    in: container,
                    debugDescription: "\(name) must be one of \(choice.names.joined(separator: ", ")), got '\(text)'"
                )
            }
        }
    }
}
