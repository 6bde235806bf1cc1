import ArgumentParser
import StreamRecCore

/// `streamrec snapshot inspect|verify`: look into snapshot files without starting a learner.
struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Inspect or verify learner snapshots.",
        subcommands: [Inspect.self, Verify.self]
    )

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a snapshot's format version, config, counts, offsets and checksum status.",
            discussion: "Reads what can be read even from a corrupt file; exits non-zero when it does not decode."
        )

        @Argument(help: "Snapshot file (.srsnap).")
        var file: String

        func run() throws {
            let inspection: SnapshotInspection
            do {
                inspection = try SnapshotInspection(path: file)
            } catch {
                throw CLIError(error.description)
            }
            print(inspection.render())
            if inspection.decodeError != nil { throw ExitCode(1) }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fully decode a snapshot file, or every snapshot in a directory; exit non-zero on corruption.",
            discussion: "Prints one line per file: OK or CORRUPT with the reason."
        )

        @Argument(help: "Snapshot file or snapshot directory.")
        var path: String

        func run() throws {
            let results = SnapshotVerifier.verify(path: path)
            for r in results {
                print(r.ok ? "OK       \(r.path)" : "CORRUPT  \(r.path): \(r.error!)")
            }
            let bad = results.filter { !$0.ok }.count
            if bad > 0 {
                stderr("\(bad) of \(results.count) failed verification")
                throw ExitCode(1)
            }
        }
    }
}
