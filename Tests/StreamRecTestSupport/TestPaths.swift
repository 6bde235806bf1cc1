public import Foundation

/// Where tests find the package's files and the `streamrec` executable.
public enum TestPaths {
    /// Package root, from this file's location (tests run from the package root, but don't rely on it).
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static func schema(_ name: String) -> URL {
        packageRoot.appendingPathComponent("schemas").appendingPathComponent(name)
    }

    /// The `streamrec` executable of the current build (`swift build` before `swift test`).
    public static func streamrecBinary() throws -> String {
        for config in ["debug", "release"] {
            let path = packageRoot.appendingPathComponent(".build/\(config)/streamrec").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw TestFailure("streamrec binary not found under .build/: run `swift build` before `swift test`")
    }
}

/// A test-side failure with a message (a missing binary, a child process that did not start, a timeout).
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
