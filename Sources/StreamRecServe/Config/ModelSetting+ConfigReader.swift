public import Configuration
import Foundation
public import StreamRecCore

/// Reading ``ModelSettings`` rows from swift-configuration: the part of the table that needs the
/// Configuration package, kept here so StreamRecCore has no package dependencies. Each row is read under
/// its key (`model.<key>`, environment `STREAMREC_MODEL_<KEY>`, flags mapped to the same key).
extension ModelSetting {
    /// Reads the row's key (default: the value already in `c`) and stores it.
    func read(from r: ConfigReader, into c: inout ModelConfig) throws {
        let configKey = ConfigKey(key)
        switch field {
        case .int(let p): c[keyPath: p] = r.int(forKey: configKey, default: c[keyPath: p])
        case .float(let p): c[keyPath: p] = Float(r.double(forKey: configKey, default: Double(c[keyPath: p])))
        case .double(let p): c[keyPath: p] = r.double(forKey: configKey, default: c[keyPath: p])
        case .bool(let p): c[keyPath: p] = r.bool(forKey: configKey, default: c[keyPath: p])
        case .uint64(let p):
            guard let text = r.string(forKey: configKey) else { return }
            guard let value = UInt64(text.trimmingCharacters(in: .whitespaces)) else {
                throw ServeConfigError("model.\(key) must be an integer in 0...\(UInt64.max), got '\(text)'")
            }
            c[keyPath: p] = value
        case .span(let p):
            guard let text = r.string(forKey: configKey) else { return }
            guard let ms = EventTimeSpan.milliseconds(text) else {
                throw ServeConfigError("model.\(key) must be a duration >= 0 (e.g. 0, 90s, 6h, 2d), got '\(text)'")
            }
            c[keyPath: p] = ms
        case .choice(let choice):
            guard let text = r.string(forKey: configKey) else { return }
            guard choice.set(&c, text) else {
                throw ServeConfigError(
                    "model.\(key) must be one of \(choice.names.joined(separator: ", ")), got '\(text)'"
                )
            }
        }
    }
}

extension ModelConfig {
    /// Reads every ``ModelSettings`` row from `reader` (scoped to `model`); absent keys keep defaults.
    public init(reader: ConfigReader) throws {
        self.init()
        for setting in ModelSettings.all { try setting.read(from: reader, into: &self) }
    }
}
