#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// What a path names (symlinks followed), so a reader that needs a regular file says what it got
/// instead of blocking on a FIFO, reading `/dev/zero` forever or reporting a misleading errno.
public enum FileKind: Sendable, Equatable, CustomStringConvertible {
    case regular(size: Int64)
    case directory, fifo, characterDevice, blockDevice, socket, other
    /// `stat` failed (missing, no permission); the reason is strerror's text.
    case unreadable(reason: String)

    public init(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            self = .unreadable(reason: String(cString: strerror(errno)))
            return
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: self = .regular(size: Int64(info.st_size))
        case S_IFDIR: self = .directory
        case S_IFIFO: self = .fifo
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        case S_IFSOCK: self = .socket
        default: self = .other
        }
    }

    public var description: String {
        switch self {
        case .regular(let size): "a regular file of \(size) bytes"
        case .directory: "a directory"
        case .fifo: "a FIFO (named pipe)"
        case .characterDevice: "a character device"
        case .blockDevice: "a block device"
        case .socket: "a socket"
        case .other: "not a regular file"
        case .unreadable(let reason): reason
        }
    }
}
