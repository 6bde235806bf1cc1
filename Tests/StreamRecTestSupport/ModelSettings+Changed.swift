public import StreamRecCore

extension ModelSettings {
    /// A valid config in which every field of the table differs from its default: the round-trip tests
    /// use it, so a new row is covered without touching them.
    public static func everyFieldChanged() -> ModelConfig {
        var c = ModelConfig()
        for setting in all {
            guard let changed = setting.changed(c) else {
                preconditionFailure("no valid non-default value for \(setting.name)")
            }
            c = changed
        }
        return c
    }
}

extension ModelSetting {
    /// `c` with this row's field moved to a nearby valid value (nil if none of the candidates is valid).
    public func changed(_ c: ModelConfig) -> ModelConfig? {
        var candidates: [ModelConfig] = []
        func add<V>(_ path: WritableKeyPath<ModelConfig, V>, _ values: [V]) {
            for v in values {
                var d = c
                d[keyPath: path] = v
                candidates.append(d)
            }
        }
        switch field {
        case .int(let p): add(p, [c[keyPath: p] + 1, c[keyPath: p] - 1])
        case .float(let p): add(p, [c[keyPath: p] + 1, c[keyPath: p] / 2, 0.5])
        case .double(let p): add(p, [c[keyPath: p] + 1, c[keyPath: p] / 2, 0.5])
        case .bool(let p): add(p, [!c[keyPath: p]])
        case .uint64(let p): add(p, [c[keyPath: p] &+ 1])
        case .span(let p): add(p, [c[keyPath: p] + 90_000])
        case .choice(let choice):
            let current = choice.names.firstIndex(of: choice.get(c)) ?? 0
            var d = c
            _ = choice.set(&d, choice.names[(current + 1) % choice.names.count])
            candidates.append(d)
        }
        return candidates.first { $0 != c && (try? $0.validate()) != nil }
    }
}
