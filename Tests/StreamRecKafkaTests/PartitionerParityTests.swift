import CRDKafka
import StreamRecCore
import Testing

/// The simulation's partitioners must put every key where librdkafka itself would (`replay --learners`
/// is only a faithful backtest if users land on the learners a real producer would send them to).
@Suite("Partitioner parity with librdkafka")
struct PartitionerParityTests {
    /// Keys of many shapes: numeric user ids, every tail length, UTF-8, long ids.
    static let keys: [String] = {
        var keys = (0..<2000).map(String.init)
        keys += (1...40).map { String(repeating: "u", count: $0) }
        keys += ["user-éà", "ユーザー42", "a-little-bit-longer-string", String(repeating: "xyz", count: 100)]
        var x: UInt64 = 0x1234_5678
        for _ in 0..<500 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            keys.append(String(x, radix: 36))
        }
        return keys
    }()

    func librdkafka(_ partitioner: KafkaPartitioner, key: String, partitions: Int32) -> Int32 {
        let bytes = Array(key.utf8)
        return bytes.withUnsafeBytes { raw in
            switch partitioner {
            case .crc32: rd_kafka_msg_partitioner_consistent(nil, raw.baseAddress, raw.count, partitions, nil, nil)
            case .murmur2: rd_kafka_msg_partitioner_murmur2(nil, raw.baseAddress, raw.count, partitions, nil, nil)
            }
        }
    }

    @Test(
        "crc32 and murmur2 agree with rd_kafka_msg_partitioner_consistent / _murmur2 on every key",
        arguments: KafkaPartitioner.allCases
    )
    func parity(_ partitioner: KafkaPartitioner) {
        for partitions in [1, 2, 3, 4, 7, 16, 100] {
            var mismatches = 0
            var used = Set<Int32>()
            for key in Self.keys {
                let theirs = librdkafka(partitioner, key: key, partitions: Int32(partitions))
                used.insert(theirs)
                if partitioner.partition(key: key, partitions: partitions) != Int(theirs) { mismatches += 1 }
            }
            #expect(
                mismatches == 0,
                "\(partitioner) with \(partitions) partitions: \(mismatches) of \(Self.keys.count) keys differ"
            )
            #expect(used.count == partitions, "the keys spread over every partition")
        }
    }
}
