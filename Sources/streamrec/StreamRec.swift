import ArgumentParser
import StreamRecCore

@main
struct StreamRec: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streamrec",
        abstract: "A streaming online recommender: online matrix factorization over Kafka event streams.",
        version: StreamRecCoreVersion.string,
        subcommands: [
            GenerateCommand.self, ReplayCommand.self, ServeCommand.self, ProduceCommand.self, TuneCommand.self,
            SnapshotCommand.self, EvaluatePolicyCommand.self,
            HTTPDemoCommand.self,
        ]
    )
}
