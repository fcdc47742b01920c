// The only file that calls zlib.
//
// Squashfs "gzip" blocks are zlib streams (deflateInit2 with windowBits =
// the window size, positive: 2-byte zlib header and Adler-32 trailer), not
// raw deflate and not gzip files. The settings and the options block follow
// mksquashfs 4.5.1's gzip_wrapper.c.
import CZlib

public struct GzipCompressor: Compressor {
    /// zlib strategies, in mksquashfs's order; the order fixes both the bit
    /// of each in the options block and the order they are tried in.
    public enum Strategy: String, CaseIterable, Sendable {
        case `default` = "default"
        case filtered = "filtered"
        case huffmanOnly = "huffman_only"
        case runLengthEncoded = "run_length_encoded"
        case fixed = "fixed"

        var bit: UInt16 { 1 << UInt16(Strategy.allCases.firstIndex(of: self)!) }

        var zlibValue: Int32 {
            switch self {
            case .default: return Z_DEFAULT_STRATEGY
            case .filtered: return Z_FILTERED
            case .huffmanOnly: return Z_HUFFMAN_ONLY
            case .runLengthEncoded: return Z_RLE
            case .fixed: return Z_FIXED
            }
        }
    }

    public static let defaultLevel = 9
    public static let defaultWindowSize = 15

    /// 1...9.
    public let level: Int
    /// log2 of the deflate window, 8...15.
    public let windowSize: Int
    /// Strategies tried on every data block, keeping the smallest result
    /// (ties go to the earlier one). Empty means the default strategy alone;
    /// `[.default]` alone is normalised to empty, as mksquashfs does.
    public let strategies: [Strategy]

    public init(level: Int = defaultLevel, windowSize: Int = defaultWindowSize, strategies: Set<Strategy> = []) {
        precondition((1...9).contains(level), "gzip level \(level) is not in 1...9")
        precondition((8...15).contains(windowSize), "gzip window size \(windowSize) is not in 8...15")
        self.level = level
        self.windowSize = windowSize
        let ordered = Strategy.allCases.filter { strategies.contains($0) }
        self.strategies = ordered == [.default] ? [] : ordered
    }

    public var id: CompressorID { .gzip }

    /// level u32, window u16, strategy bitmask u16; nil for level 9,
    /// window 15 and no strategies.
    public var options: [UInt8]? {
        if level == Self.defaultLevel && windowSize == Self.defaultWindowSize && strategies.isEmpty { return nil }
        return CompressorSupport.le32(UInt32(level)) + CompressorSupport.le16(UInt16(windowSize)) + CompressorSupport.le16(strategies.reduce(0) { $0 | $1.bit })
    }

    public var description: String {
        var words = ["gzip"]
        if level != Self.defaultLevel { words += ["-Xcompression-level", "\(level)"] }
        if windowSize != Self.defaultWindowSize { words += ["-Xwindow-size", "\(windowSize)"] }
        if !strategies.isEmpty { words += ["-Xstrategy", strategies.map(\.rawValue).joined(separator: ",")] }
        return words.joined(separator: " ")
    }

    public func makeWorker() -> any CompressorWorker {
        makeWorker(strategies: strategies)
    }

    func makeWorker(strategies: [Strategy]) -> any CompressorWorker {
        GzipWorker(level: Int32(level), windowBits: Int32(windowSize),
                   strategies: (strategies.isEmpty ? [.default] : strategies).map(\.zlibValue))
    }
}

final class GzipWorker: CompressorWorker {
    private let level: Int32
    private let strategies: [Int32]
    private let deflater: UnsafeMutablePointer<z_stream>
    private var deflaterStatus: Int32
    private let inflater: UnsafeMutablePointer<z_stream>
    private var inflaterReady = false
    private let scratch: CompressorScratch?

    init(level: Int32, windowBits: Int32, strategies: [Int32]) {
        self.level = level
        self.strategies = strategies
        deflater = .allocate(capacity: 1)
        deflater.initialize(to: z_stream())
        // As mksquashfs: one stream, initialised with the first strategy;
        // memLevel 8.
        deflaterStatus = deflateInit2_(deflater, level, Z_DEFLATED, windowBits, 8, strategies[0],
                                       zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        inflater = .allocate(capacity: 1)
        inflater.initialize(to: z_stream())
        scratch = strategies.count > 1 ? CompressorScratch(capacity: 1 << 16) : nil
    }

    deinit {
        if deflaterStatus == Z_OK { deflateEnd(deflater) }
        if inflaterReady { inflateEnd(inflater) }
        deflater.deallocate()
        inflater.deallocate()
    }

    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(SquashFSError) -> Int? {
        guard deflaterStatus == Z_OK else {
            throw SquashFSError("gzip: deflateInit2 failed (zlib error \(deflaterStatus))")
        }
        // Only a result strictly smaller than the input is of use; zlib's
        // bytes do not depend on the room given, it just stops when full.
        let limit = min(output.count, input.count - 1)
        guard limit > 0, let source = input.baseAddress, let destination = output.baseAddress,
              input.count <= Int(UInt32.max) else { return nil }
        scratch?.reserve(limit)

        var best: (buffer: UnsafeMutableRawPointer, length: Int)? = nil
        for strategy in strategies {
            let target = best?.buffer == destination ? scratch!.pointer : destination
            var status = deflateReset(deflater)
            guard status == Z_OK else { throw SquashFSError("gzip: deflateReset failed (zlib error \(status))") }
            deflater.pointee.next_in = UnsafeMutablePointer(mutating: source.assumingMemoryBound(to: Bytef.self))
            deflater.pointee.avail_in = uInt(input.count)
            deflater.pointee.next_out = target.assumingMemoryBound(to: Bytef.self)
            deflater.pointee.avail_out = uInt(limit)
            if strategies.count > 1 {
                // Right after deflateReset this only switches the strategy.
                status = deflateParams(deflater, level, strategy)
                guard status == Z_OK else { throw SquashFSError("gzip: deflateParams failed (zlib error \(status))") }
            }
            status = deflate(deflater, Z_FINISH)
            if status == Z_STREAM_END {
                let length = Int(deflater.pointee.total_out)
                if best == nil || best!.length > length { best = (target, length) }
            } else if status != Z_OK && status != Z_BUF_ERROR {
                throw SquashFSError("gzip: deflate failed (zlib error \(status))")
            }
        }
        deflater.pointee.next_in = nil
        deflater.pointee.next_out = nil
        guard let chosen = best else { return nil }
        if chosen.buffer != destination {
            destination.copyMemory(from: chosen.buffer, byteCount: chosen.length)
        }
        return chosen.length
    }

    func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(SquashFSError) -> Int {
        var status: Int32
        if inflaterReady {
            status = inflateReset(inflater)
        } else {
            // windowBits 15 accepts zlib streams of any window size.
            status = inflateInit2_(inflater, 15, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
            inflaterReady = status == Z_OK
        }
        guard status == Z_OK else { throw SquashFSError("gzip: inflate setup failed (zlib error \(status))") }
        guard let source = input.baseAddress, let destination = output.baseAddress else {
            throw SquashFSError("gzip: empty block cannot be decompressed")
        }
        inflater.pointee.next_in = UnsafeMutablePointer(mutating: source.assumingMemoryBound(to: Bytef.self))
        inflater.pointee.avail_in = uInt(input.count)
        inflater.pointee.next_out = destination.assumingMemoryBound(to: Bytef.self)
        inflater.pointee.avail_out = uInt(min(output.count, Int(UInt32.max)))
        status = inflate(inflater, Z_FINISH)
        defer {
            inflater.pointee.next_in = nil
            inflater.pointee.next_out = nil
        }
        guard status == Z_STREAM_END, inflater.pointee.avail_in == 0 else {
            throw SquashFSError("gzip: corrupt block or output too small (zlib status \(status), \(inflater.pointee.avail_in) input bytes left)")
        }
        return Int(inflater.pointee.total_out)
    }
}
