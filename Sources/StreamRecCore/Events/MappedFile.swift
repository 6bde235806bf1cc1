#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// A regular file mapped read-only and private, so pages already scanned can be handed back to the
/// kernel (``release(_:)``): a log far larger than RAM, or one enormous line, then never becomes
/// resident as a whole. Dropped pages are re-read from the file if touched again, so copies of a
/// reader sharing the mapping stay correct.
final class MappedFile: @unchecked Sendable {
    // Immutable after init; the mapping is read-only.
    let base: UnsafeRawPointer?
    let count: Int
    private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Throws the errno text on failure.
    init(path: String, size: Int) throws(MappedFileError) {
        guard size > 0 else {
            base = nil
            count = 0
            return
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MappedFileError(reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw MappedFileError(reason: String(cString: strerror(errno)))
        }
        base = UnsafeRawPointer(p)
        count = size
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Drops the whole pages inside `range` from this process's resident set (advice only: the bytes
    /// stay readable).
    func release(_ range: Range<Int>) {
        guard let base else { return }
        let start = (range.lowerBound + Self.pageSize - 1) / Self.pageSize * Self.pageSize
        let end = range.upperBound / Self.pageSize * Self.pageSize
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }
}

struct MappedFileError: Error {
    var reason: String
}
