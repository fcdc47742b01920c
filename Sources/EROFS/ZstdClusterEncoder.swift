import CZstd

/// zstd into a bounded output. libzstd has no call that compresses "as
/// much as fits" (LZ4_compress_destSize's kind), so one frame is streamed
/// (`ZSTD_compressStream2`) in steps (`FillSteps`), each ended with
/// `ZSTD_e_flush`: the frame so far then ends on a block boundary, and
/// its length is the exact cost of the input taken. A step whose output
/// does not fit is dropped by cutting the frame back to the last boundary
/// that fit and closing it with an empty last block (a 3-byte raw block
/// header with Last_Block set, the same epilogue libzstd writes); a step
/// that reaches the input's end closes the frame with `ZSTD_e_end`
/// instead.
///
/// Each step is a block of its own, and small blocks cost (a header,
/// tables, matches that stop at the boundary), so the input that fit is
/// then compressed again from the start as one step ("replay", at most
/// `replays` times): the room that frees is filled by further steps, the
/// first of them half the one that did not fit. A replay that takes less
/// than before (which zstd does not promise against) falls back to the
/// first frame, made again. So a cluster costs one compression of its
/// input plus up to `replays` more, and the dropped steps.
///
/// The frame declares the window of `ZstdConfig` and no content size;
/// no checksum. Its bytes depend on the input, the level, the window and
/// the libzstd version alone.
final class ZstdClusterEncoder: ClusterEncoder {
    private let context: OpaquePointer
    private let steps = FillSteps(fraction: 32, minimum: 64)
    /// How many times a cut frame is compressed again from the start.
    static let replays = 2
    /// Raw, Last_Block, size 0: the epilogue that closes a cut frame.
    private static let lastBlock: [UInt8] = [1, 0, 0]

    init(level: Int, windowLog: Int) throws(EROFSError) {
        guard let context = ZSTD_createCCtx() else { throw EROFSError("zstd: cannot allocate a compression context") }
        self.context = context
        for (parameter, value) in [(ZSTD_c_compressionLevel, level), (ZSTD_c_windowLog, windowLog)] {
            let ret = ZSTD_CCtx_setParameter(context, parameter, Int32(value))
            if ZSTD_isError(ret) != 0 {
                throw EROFSError("zstd: \(parameter) \(value) is not supported by libzstd", kind: .invalidSetting)
            }
        }
    }

    deinit { ZSTD_freeCCtx(context) }

    func encode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(EROFSError) -> (consumed: Int, written: Int) {
        let closing = Self.lastBlock.count
        guard input.count > 0, output.count > closing + 16 else { return (0, 0) }
        var out = ZSTD_outBuffer(dst: output.baseAddress, size: output.count - closing, pos: 0)
        var fill = try self.fill(input, &out, first: steps.first(room: out.size, input: input.count), then: nil)
        var replays = Self.replays
        while replays > 0, !fill.ended, fill.taken > 0, fill.blocks > 1 || fill.failed != nil {
            replays -= 1
            let replay = try self.fill(input, &out, first: fill.taken, then: fill.failed.flatMap(steps.retry))
            guard replay.taken >= fill.taken else {
                fill = try self.fill(input, &out, first: steps.first(room: out.size, input: input.count), then: nil)
                break
            }
            fill = replay
        }
        if fill.ended || fill.taken == 0 { return (fill.taken, fill.written) }
        (output.baseAddress! + fill.written).copyMemory(from: Self.lastBlock, byteCount: closing)
        return (fill.taken, fill.written + closing)
    }

    /// One frame from the input's start: a first step of `first` bytes,
    /// then one of `then` bytes if given, then `steps`' until one does not
    /// fit; how much it took, how long the frame is up to the last step
    /// that fit, in how many steps, the step that did not fit, and whether
    /// it reached the input's end (and so is closed).
    private func fill(_ input: UnsafeRawBufferPointer, _ out: inout ZSTD_outBuffer, first: Int,
                      then: Int?) throws(EROFSError) -> (taken: Int, written: Int, blocks: Int, failed: Int?, ended: Bool) {
        ZSTD_CCtx_reset(context, ZSTD_reset_session_only)
        out.pos = 0
        var fill = (taken: 0, written: 0, blocks: 0, failed: Int?.none, ended: false)
        var step: Int? = first
        var second = then
        while let size = step {
            let ends = fill.taken + size == input.count
            let piece = UnsafeRawBufferPointer(rebasing: input[fill.taken..<fill.taken + size])
            guard try feed(piece, &out, ends ? ZSTD_e_end : ZSTD_e_flush) else { fill.failed = size; break }
            fill = (fill.taken + size, out.pos, fill.blocks + 1, nil, ends)
            if ends { break }
            step = second.map { min($0, input.count - fill.taken) }
                ?? steps.next(taken: fill.taken, written: fill.written, room: out.size - fill.written, left: input.count - fill.taken)
            second = nil
        }
        return fill
    }

    /// Compresses one step and flushes (or ends) the frame; false when the
    /// output ran out first.
    private func feed(_ piece: UnsafeRawBufferPointer, _ out: inout ZSTD_outBuffer,
                      _ directive: ZSTD_EndDirective) throws(EROFSError) -> Bool {
        var inBuffer = ZSTD_inBuffer(src: piece.baseAddress, size: piece.count, pos: 0)
        let left = ZSTD_compressStream2(context, &out, &inBuffer, directive)
        if ZSTD_isError(left) != 0 {
            throw EROFSError("zstd: compression failed (\(String(cString: ZSTD_getErrorName(left))))")
        }
        return left == 0 && inBuffer.pos == inBuffer.size
    }
}
