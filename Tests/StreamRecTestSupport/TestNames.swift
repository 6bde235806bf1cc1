public import Foundation

/// A name no other test (or earlier run) uses: topics, groups, directories.
public func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
}

/// A fresh empty directory under the system temp dir (removed by the caller, if at all).
public func temporaryDirectory(_ prefix: String = "streamrec-test") throws -> String {
    let path = NSTemporaryDirectory() + uniqueName(prefix)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// ``temporaryDirectory(_:)`` as a file URL.
public func temporaryDirectoryURL(_ prefix: String = "streamrec-test") throws -> URL {
    URL(fileURLWithPath: try temporaryDirectory(prefix), isDirectory: true)
}
