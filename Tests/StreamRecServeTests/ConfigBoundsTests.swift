import Foundation
import StreamRecTestSupport
import Testing

@testable import StreamRecServe

#if canImport(Glibc)
import Glibc
#endif

/// Hostile or mistaken config input is refused at once with an error naming the file (and the key
/// where there is one). Large inputs are generated here, never committed.
@Suite("serve configuration: input bounds")
struct ConfigBoundsTests {
    /// Loads `path` and returns the error's text; records an issue if it loads.
    static func refusal(_ path: String, environment: [String: String] = [:]) async -> String {
        do {
            _ = try await ServeConfig.load(path: path, environment: environment)
            Issue.record("accepted \(path)")
            return ""
        } catch {
            return "\(error)"
        }
    }

    /// Writes `header`, then `count` lines from `line`, through one handle in ~1 MiB pieces.
    static func writeGenerated(_ path: String, header: String, count: Int, line: (Int) -> String) throws {
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        defer { try? handle.close() }
        var buffer = header
        for i in 0..<count {
            buffer += line(i)
            if buffer.utf8.count > 1 << 20 {
                try handle.write(contentsOf: Data(buffer.utf8))
                buffer = ""
            }
        }
        try handle.write(contentsOf: Data(buffer.utf8))
    }

    @Test("a 50 MB file of 250,000 kafka.properties keys is refused by its size, naming the file")
    func hugeFile() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/streamrec.yaml"
        let padding = String(repeating: "v", count: 190)
        try Self.writeGenerated(path, header: "kafka:\n  properties:\n", count: 250_000) {
            "    key.\($0): \(padding)\n"
        }
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(size > 50_000_000)
        let error = await Self.refusal(path)
        #expect(error == "config file \(path) is \(size) bytes; the limit is \(ConfigFile.maxFileBytes) bytes")
    }

    @Test("a 50 MB client.id is refused by the file size; a 100 KB one by the value length, naming the key")
    func longValue() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let huge = dir + "/huge.yaml"
        try Self.writeGenerated(huge, header: "kafka:\n  properties:\n    client.id: \"", count: 51) {
            $0 < 50 ? String(repeating: "c", count: 1_000_000) : "\"\n"
        }
        #expect(await Self.refusal(huge).hasPrefix("config file \(huge) is "))

        let long = String(repeating: "c", count: 100_000)
        let path = try temporaryConfig("kafka:\n  properties:\n    client.id: \(long)\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(
            await Self.refusal(path)
                == "config file \(path): the value of 'kafka.properties.client.id' is 100000 bytes; values are limited to 65536 bytes"
        )
        // The same bound on a section key and on the environment (whose error never shows the value).
        let nested = try temporaryConfig("kafka:\n  group_id: \(long)\n")
        defer { try? FileManager.default.removeItem(atPath: nested) }
        #expect(await Self.refusal(nested).contains("the value of 'kafka.group_id' is 100000 bytes"))
        let empty = try temporaryConfig("kafka:\n  group_id: g\n")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let env = await Self.refusal(empty, environment: ["STREAMREC_KAFKA_PROPERTIES_CLIENT_ID": long])
        #expect(
            env
                == "environment variable STREAMREC_KAFKA_PROPERTIES_CLIENT_ID is 100000 bytes; values are limited to 65536 bytes"
        )
    }

    @Test("more than 1,000 kafka.properties entries in a small file are refused, naming the table")
    func tooManyProperties() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/streamrec.yaml"
        try Self.writeGenerated(path, header: "kafka:\n  properties:\n", count: 5_000) { "    k.\($0): v\n" }
        #expect(
            await Self.refusal(path) == "config file \(path): 'kafka.properties' has more than 1000 entries"
        )
    }

    @Test("an unknown section is refused even when empty")
    func emptyUnknownSection() async throws {
        for text in ["kafka2: {}\n", "kafka2:\n", "kafka:\n  group_id: g\nkafka2: []\n"] {
            let path = try temporaryConfig(text)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let error = await Self.refusal(path)
            #expect(error.hasPrefix("unknown config section 'kafka2' in \(path) (sections: "), "\(error)")
        }
    }

    @Test("YAML alias bombs are refused fast, naming the file and the key")
    func aliasBombs() async throws {
        // Lists of lists: refused by shape, at the first key holding one.
        let lists = try temporaryConfig(
            """
            model:
              a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
              b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
              c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
              d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
              e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
              f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
              g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
              h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
              i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]

            """
        )
        defer { try? FileManager.default.removeItem(atPath: lists) }
        #expect(
            await Self.refusal(lists)
                == "config file \(lists): 'model.b' is a list of lists or mappings; a value is text, a number, true/false or a list of those"
        )
        // Mappings of mappings (9^9 leaves): stopped by the node budget, or in a table by its entry cap.
        var levels = "    l0: &l0 {a: 1, b: 1, c: 1, d: 1, e: 1, f: 1, g: 1, h: 1, i: 1}\n"
        for n in 1...8 {
            let p = "*l\(n - 1)"
            levels +=
                "    l\(n): &l\(n) {a: \(p), b: \(p), c: \(p), d: \(p), e: \(p), f: \(p), g: \(p), h: \(p), i: \(p)}\n"
        }
        let inSection = try temporaryConfig("model:\n  bomb:\n" + levels)
        defer { try? FileManager.default.removeItem(atPath: inSection) }
        let sectionError = await Self.refusal(inSection)
        #expect(sectionError.hasPrefix("config file \(inSection): more than 100000 values"), "\(sectionError)")
        #expect(sectionError.contains("at 'model.bomb."), "\(sectionError)")
        let inTable = try temporaryConfig("kafka:\n  properties:\n" + levels)
        defer { try? FileManager.default.removeItem(atPath: inTable) }
        #expect(await Self.refusal(inTable) == "config file \(inTable): 'kafka.properties' has more than 1000 entries")
    }

    @Test("a FIFO, a device or a directory as the config file is refused with what it is")
    func notRegular() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fifo = dir + "/streamrec.yaml"
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(await Self.refusal(fifo) == "config file \(fifo) is not a regular file: it is a FIFO (named pipe)")
        #expect(
            await Self.refusal("/dev/zero") == "config file /dev/zero is not a regular file: it is a character device"
        )
        #expect(await Self.refusal(dir) == "config file \(dir) is not a regular file: it is a directory")
        #expect(await Self.refusal(dir + "/missing.yaml").hasPrefix("cannot read config file \(dir)/missing.yaml: "))
    }
}
