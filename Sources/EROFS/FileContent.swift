import SourceTree

/// One regular file of the tree, read through the shared `SourceReader`
/// (which checks that the file is the one scanned and keeps its size).
final class FileContent {
    private let reader: SourceReader
    let size: UInt64

    init(_ file: File, name: @escaping () -> String) throws(EROFSError) {
        size = file.size
        do {
            reader = try SourceReader(file, displayPath: name())
        } catch {
            throw EROFSError(error)
        }
    }

    /// Fills `buffer` from `offset`; the range must lie within `size`.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(EROFSError) {
        guard let base = buffer.baseAddress else { return }
        do {
            try reader.read(into: base, count: buffer.count, at: offset)
        } catch {
            throw EROFSError(error)
        }
    }

    /// Fails if the file is no longer its scanned size.
    func checkEnd() throws(EROFSError) {
        do {
            try reader.checkEnd()
        } catch {
            throw EROFSError(error)
        }
    }
}
