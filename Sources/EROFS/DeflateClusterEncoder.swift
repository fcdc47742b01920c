import CZlib

/// Raw deflate (RFC 1951, zlib's encoder, the 32 KiB window of
/// `DeflateConfig`) into a bounded output. zlib has no call that
/// compresses "as much as fits", and its blocks are only sized when they
/// are closed, so the search keeps one stream that takes the input in
/// steps (`FillSteps`) without flushing (the blocks zlib emits on its own
/// go straight to the output), and after each step measures a copy of it
/// (`deflateCopy`) that it finishes: the finished copy is exactly the
/// stream that stops there. A step whose finished copy does not fit is
/// undone by going back to a copy taken before it, and retried at half
/// its size. Every input byte is compressed once (plus the undone steps);
/// each measurement costs two state copies and the Huffman coding of the
/// open block, not a compression from the start; and the output is the
/// one-shot deflate of the input it took, with no flush marker in it.
/// An input that surely fits (zlib's `deflateBound`) is compressed in
/// one call, with no copies: most files are smaller than a cluster.
/// Its bytes depend on the input, the level and the zlib version alone.
final class DeflateClusterEncoder: ClusterEncoder {
    private let level: Int32
    /// The stream that advances, the copy taken before its step, and the
    /// copy finished to measure it: never moved, since zlib's state points
    /// back at its z_stream.
    private let main = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private let before = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private let trial = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var live: [UnsafeMutablePointer<z_stream>] = []
    private var finished: [UInt8] = []
    private var best: [UInt8] = []
    private let steps = FillSteps(fraction: 48, minimum: 64)

    init(level: Int) throws(EROFSError) {
        self.level = Int32(level)
        main.initialize(to: z_stream())
        guard deflateInit2_(main, self.level, Z_DEFLATED, -Int32(DeflateConfig.windowBits), 8, Z_DEFAULT_STRATEGY,
                            zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            main.deallocate()
            throw EROFSError("deflate: zlib cannot start a level \(level) stream", kind: .invalidSetting)
        }
        live = [main]
        before.initialize(to: z_stream())
        trial.initialize(to: z_stream())
    }

    deinit {
        for stream in [main, before, trial] {
            if live.contains(stream) { deflateEnd(stream) }
            stream.deallocate()
        }
    }

    func encode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(EROFSError) -> (consumed: Int, written: Int) {
        guard input.count > 0, output.count > 16 else { return (0, 0) }
        let plain = try search(input, output, primed: false)
        guard plain.written > 0, output.load(as: UInt8.self) == 0 else { return plain }
        return try search(input, output, primed: true)
    }

    /// An empty non-final block with fixed codes (BFINAL 0, BTYPE 01, the
    /// 7-bit end-of-block code), 10 bits, which starts a stream with a
    /// non-zero byte. A stream must not start with a zero byte: readers
    /// find its start by skipping the zeros that pad a pcluster's front,
    /// and zlib starts with a stored block (first byte 0) when the data
    /// begins incompressible; only such streams get this prefix.
    private static let emptyFixedBlock: (bits: Int32, value: Int32) = (10, 0b00_0000_0010)

    private func search(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer,
                        primed: Bool) throws(EROFSError) -> (consumed: Int, written: Int) {
        deflateReset(main)
        if primed { deflatePrime(main, Self.emptyFixedBlock.bits, Self.emptyFixedBlock.value) }
        main.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
        main.pointee.avail_out = uInt(output.count)
        if Int(deflateBound(main, uLong(input.count))) + 4 <= output.count {
            return try whole(input)
        }
        if finished.count < output.count {
            finished = [UInt8](repeating: 0, count: output.count)
            best = finished
        }
        var fit = (taken: 0, stream: 0, written: 0)
        var step: Int? = steps.first(room: output.count, input: input.count)
        while let size = step {
            try copy(main, to: before)
            if let written = try advance(input, from: fit.taken, size, room: output.count) {
                fit = (fit.taken + size, Int(main.pointee.total_out), written)
                swap(&finished, &best)
                step = steps.next(taken: fit.taken, written: written, room: output.count - written, left: input.count - fit.taken)
            } else {
                try copy(before, to: main)
                step = steps.retry(after: size)
            }
        }
        guard fit.taken > 0 else { return (0, 0) }
        let tail = fit.written - fit.stream
        best.withUnsafeBytes { (output.baseAddress! + fit.stream).copyMemory(from: $0.baseAddress!, byteCount: tail) }
        return (fit.taken, fit.written)
    }

    /// All of an input that surely fits (zlib's bound for it, and the
    /// 10 primed bits, are under the room), in one call: no copies.
    private func whole(_ input: UnsafeRawBufferPointer) throws(EROFSError) -> (consumed: Int, written: Int) {
        main.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
        main.pointee.avail_in = uInt(input.count)
        let ret = deflate(main, Z_FINISH)
        guard ret == Z_STREAM_END else { throw EROFSError("deflate: compression failed (error \(ret))") }
        return (input.count, Int(main.pointee.total_out))
    }

    /// Feeds `size` bytes from `at` to the main stream and finishes a copy
    /// of it into `finished`; the stream's whole length if it fits the
    /// room, nil if not.
    private func advance(_ input: UnsafeRawBufferPointer, from at: Int, _ size: Int, room: Int) throws(EROFSError) -> Int? {
        main.pointee.next_in = UnsafeMutablePointer(mutating: (input.baseAddress! + at).assumingMemoryBound(to: Bytef.self))
        main.pointee.avail_in = uInt(size)
        let ret = deflate(main, Z_NO_FLUSH)
        guard ret == Z_OK || ret == Z_BUF_ERROR else { throw EROFSError("deflate: compression failed (error \(ret))") }
        guard main.pointee.avail_in == 0, main.pointee.avail_out > 0 else { return nil }
        try copy(main, to: trial)
        let emitted = Int(main.pointee.total_out)
        let done: Int32 = finished.withUnsafeMutableBytes { buffer in
            trial.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
            trial.pointee.avail_out = uInt(room - emitted)
            return deflate(trial, Z_FINISH)
        }
        guard done == Z_STREAM_END || done == Z_OK || done == Z_BUF_ERROR else {
            throw EROFSError("deflate: compression failed (error \(done))")
        }
        return done == Z_STREAM_END ? Int(trial.pointee.total_out) : nil
    }

    /// Replaces `target`'s state with a copy of `source`'s.
    private func copy(_ source: UnsafeMutablePointer<z_stream>, to target: UnsafeMutablePointer<z_stream>) throws(EROFSError) {
        if let i = live.firstIndex(of: target) { deflateEnd(target); live.remove(at: i) }
        guard deflateCopy(target, source) == Z_OK else { throw EROFSError("deflate: cannot copy the stream's state") }
        live.append(target)
    }
}
