import SystemIO
import ImageReading

/// Decompresses an image's stored blocks, on any number of threads at once
/// (each call borrows one of the compressor's workers).
///
/// Rule checked: a block decompresses to at most `limit` bytes (the block
/// size for data and fragment blocks, 8 KiB for metadata blocks); a block
/// that would expand further, or does not decompress, is refused.
final class BlockDecoder: @unchecked Sendable {
    let compressor: any Compressor
    private let monitor = Monitor()
    private var idle: [any CompressorWorker] = []

    init(_ compressor: any Compressor) {
        self.compressor = compressor
    }

    func decode(_ stored: [UInt8], limit: Int, place: @autoclosure () -> String) throws(SquashFSError) -> [UInt8] {
        let worker = monitor.locked { idle.popLast() } ?? compressor.makeWorker()
        defer { monitor.locked { idle.append(worker) } }
        var out = [UInt8](repeating: 0, count: limit)
        var result: Result<Int, SquashFSError> = .success(0)
        stored.withUnsafeBytes { input in
            out.withUnsafeMutableBytes { output in
                do throws(SquashFSError) { result = .success(try worker.decompress(input, into: output)) } catch { result = .failure(error) }
            }
        }
        let count: Int
        switch result {
        case .success(let n): count = n
        case .failure(let error): throw .badImage(place(), "\(error.message), or it expands past \(limit) bytes")
        }
        out.removeSubrange(count...)
        return out
    }
}

extension SquashFSError {
    /// An image range's failure, said where it happened: an out-of-range
    /// read is a bad image, a failed system call an I/O error.
    static func reading(_ error: ImageReadError, _ place: String) -> SquashFSError {
        switch error.kind {
        case .outOfRange: return .badImage(place, error.message)
        case .io(let code): return SquashFSError("\(place): \(error.message)", kind: .io(Errno(code)))
        }
    }
}

extension ImageRange {
    /// `read`, failing with the module's error naming `place`.
    func bytes(_ count: Int, at: UInt64, place: @autoclosure () -> String) throws(SquashFSError) -> [UInt8] {
        do { return try read(count, at: at) } catch { throw .reading(error, place()) }
    }
}
