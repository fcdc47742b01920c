// The only file that calls liblzma.
//
// Squashfs xz blocks are complete .xz streams, as mksquashfs 4.5.1's
// xz_wrapper.c makes them: lzma_stream_buffer_encode with check
// LZMA_CHECK_CRC32, LZMA2 at preset 6 (LZMA_PRESET_DEFAULT) with the
// dictionary size set explicitly, and with BCJ filters each block is also
// compressed through [BCJ, LZMA2] for every selected filter and the smallest
// stream wins (ties go to the earlier chain: plain LZMA2 first, then the
// filters in the order x86, powerpc, ia64, arm, armthumb, sparc).
// The buffer encoder writes the compressed and uncompressed sizes into the
// block header, which the streaming encoder does not, so only it gives
// mksquashfs's bytes.
//
// Adapted to content (see `Compressor.adaptedToContent`, used only when no
// BCJ filter is selected), a worker compresses each block once with the
// chain its `BlockContent` hint names: [x86, LZMA2] for x86 code, LZMA2
// with lc=3 lp=0 pb=0 for packed tails, and mksquashfs's plain LZMA2
// otherwise. The options block then announces the x86 filter, as
// mksquashfs's does for `-Xbcj x86`; readers decode any chain the stream
// header names either way.
import CLZMA

public struct XzCompressor: Compressor {
    /// BCJ filters in mksquashfs's order, which fixes each one's bit in the
    /// options block and the order they are tried in.
    public enum Filter: String, CaseIterable, Sendable {
        case x86, powerpc, ia64, arm, armthumb, sparc

        var bit: UInt32 { 1 << UInt32(Filter.allCases.firstIndex(of: self)!) }

        /// LZMA_FILTER_* ids (lzma/bcj.h); the C macros do not reach Swift.
        var lzmaID: lzma_vli {
            switch self {
            case .x86: return 0x04
            case .powerpc: return 0x05
            case .ia64: return 0x06
            case .arm: return 0x07
            case .armthumb: return 0x08
            case .sparc: return 0x09
            }
        }
    }

    public let blockSize: Int
    /// The data-block dictionary size: the block size unless -Xdict-size.
    public let dictionarySize: Int
    /// Selected BCJ filters, in mksquashfs's order, without repeats.
    public let filters: [Filter]
    /// Chains picked by `BlockContent` hints (see the file comment).
    public private(set) var adaptive = false

    /// The smallest `-Xdict-size` mksquashfs takes (xz_options_post): 8 KiB.
    public static let minimumDictionarySize = 8192

    /// The one rule for an xz data-block dictionary, which `-Xdict-size`
    /// (and the Nix attribute `squash-compression`) must meet:
    /// - the block size itself is always accepted, whatever the block size:
    ///   it is the dictionary plain `xz` uses, and what `-Xdict-size 100%`
    ///   means; so the default `xz -Xdict-size 100%` works with 4K blocks
    ///   too (mksquashfs 4.5.1 and 4.7.5 refuse that one case, since they
    ///   apply their 8 KiB minimum to it as well);
    /// - any other size must be at least `minimumDictionarySize` (8 KiB), at
    ///   most the block size, and 2^n or 2^n + 2^(n-1) bytes (what the xz
    ///   header stores), as mksquashfs requires.
    /// With blocks under 8 KiB the block size is thus the only dictionary.
    public static func isAcceptedDictionarySize(_ size: Int, blockSize: Int) -> Bool {
        size == blockSize
            || (size >= minimumDictionarySize && size <= blockSize && isStorableDictionarySize(size))
    }

    /// `dictionarySize` must meet `isAcceptedDictionarySize`;
    /// `parseCompressor` checks that with a proper message, this
    /// initialiser only traps.
    public init(blockSize: Int, dictionarySize: Int? = nil, filters: Set<Filter> = []) {
        let dictionary = dictionarySize ?? blockSize
        precondition(CompressorSupport.isValidBlockSize(blockSize), "xz: bad block size \(blockSize)")
        precondition(Self.isAcceptedDictionarySize(dictionary, blockSize: blockSize), "xz: bad dictionary size \(dictionary)")
        self.blockSize = blockSize
        self.dictionarySize = dictionary
        self.filters = Filter.allCases.filter { filters.contains($0) }
    }

    /// True for 2^n and 2^n + 2^(n-1): what the xz header can store, and
    /// what mksquashfs and the kernel check.
    public static func isStorableDictionarySize(_ size: Int) -> Bool {
        guard size > 0 else { return false }
        let lowest = size & -size
        return size == lowest || size == 3 * lowest
    }

    public var id: CompressorID { .xz }

    /// dictionary_size u32, filters bitmask u32; nil when the dictionary is
    /// the block size and no filter is selected.
    ///
    /// The kernel preallocates its xz dictionary from the stored size, and
    /// metadata blocks are always compressed with an 8 KiB dictionary. So
    /// the stored size is never below 8 KiB: with 4 KiB blocks mksquashfs
    /// stores 4096 and writes images the kernel cannot mount.
    public var options: [UInt8]? {
        let announced = adaptive ? [Filter.x86] : filters
        if dictionarySize == blockSize && announced.isEmpty { return nil }
        let stored = max(dictionarySize, CompressorSupport.metadataBlockSize)
        return CompressorSupport.le32(UInt32(stored)) + CompressorSupport.le32(announced.reduce(0) { $0 | $1.bit })
    }

    /// Hints choose the chain only when the user selected no filter; an
    /// explicit `-Xbcj` keeps mksquashfs's try-every-filter rule.
    public func adaptedToContent() -> any Compressor {
        guard filters.isEmpty else { return self }
        var copy = self
        copy.adaptive = true
        return copy
    }

    public var description: String {
        var words = ["xz"]
        if !filters.isEmpty { words += ["-Xbcj", filters.map(\.rawValue).joined(separator: ",")] }
        if dictionarySize != blockSize { words += ["-Xdict-size", CompressorSupport.formatSize(dictionarySize)] }
        if adaptive { words.append("(x86 filter and tail tuning by content)") }
        return words.joined(separator: " ")
    }

    public func makeWorker() -> any CompressorWorker {
        XzWorker(dictionarySize: dictionarySize, filters: filters.map(\.lzmaID), blockSize: blockSize, adaptive: adaptive)
    }

    func makeWorker(dictionarySize: Int, filters: [Filter]) -> any CompressorWorker {
        XzWorker(dictionarySize: dictionarySize, filters: filters.map(\.lzmaID), blockSize: blockSize, adaptive: false)
    }
}

final class XzWorker: CompressorWorker {
    private static let lzma2ID: lzma_vli = 0x21 // LZMA_FILTER_LZMA2
    private static let chainEnd: lzma_vli = .max // LZMA_VLI_UNKNOWN
    private static let x86ID: lzma_vli = 0x04 // LZMA_FILTER_X86

    private let lzmaOptions: UnsafeMutablePointer<lzma_options_lzma>
    private let presetFailed: Bool
    /// Filter chains, each ending in LZMA_VLI_UNKNOWN: plain LZMA2 first.
    private let chains: [UnsafeMutablePointer<lzma_filter>]
    private let scratch: CompressorScratch?
    /// Adaptive only: LZMA2 tuned for packed tails, and the two chains
    /// the hints pick besides plain LZMA2.
    private let packedOptions: UnsafeMutablePointer<lzma_options_lzma>?
    private let x86Chains: [UnsafeMutablePointer<lzma_filter>]
    private let packedChains: [UnsafeMutablePointer<lzma_filter>]

    init(dictionarySize: Int, filters: [lzma_vli], blockSize: Int, adaptive: Bool) {
        lzmaOptions = .allocate(capacity: 1)
        lzmaOptions.initialize(to: lzma_options_lzma())
        // LZMA_PRESET_DEFAULT is 6. The encoder does not modify the options,
        // so setting them once equals mksquashfs setting them per block.
        presetFailed = lzma_lzma_preset(lzmaOptions, 6) != 0
        lzmaOptions.pointee.dict_size = UInt32(dictionarySize)
        let options = UnsafeMutableRawPointer(lzmaOptions)
        if adaptive {
            let packed = UnsafeMutablePointer<lzma_options_lzma>.allocate(capacity: 1)
            packed.initialize(to: lzmaOptions.pointee)
            packed.pointee.lc = 3
            packed.pointee.lp = 0
            packed.pointee.pb = 0
            packedOptions = packed
            let x86 = UnsafeMutablePointer<lzma_filter>.allocate(capacity: 3)
            x86.initialize(from: [lzma_filter(id: Self.x86ID, options: nil),
                                  lzma_filter(id: Self.lzma2ID, options: options),
                                  lzma_filter(id: Self.chainEnd, options: nil)], count: 3)
            x86Chains = [x86]
            let tails = UnsafeMutablePointer<lzma_filter>.allocate(capacity: 2)
            tails.initialize(from: [lzma_filter(id: Self.lzma2ID, options: UnsafeMutableRawPointer(packed)),
                                    lzma_filter(id: Self.chainEnd, options: nil)], count: 2)
            packedChains = [tails]
        } else {
            packedOptions = nil
            x86Chains = []
            packedChains = []
        }

        let plain = UnsafeMutablePointer<lzma_filter>.allocate(capacity: 2)
        plain.initialize(from: [lzma_filter(id: Self.lzma2ID, options: options),
                                lzma_filter(id: Self.chainEnd, options: nil)], count: 2)
        var chains = [plain]
        for bcj in filters {
            let chain = UnsafeMutablePointer<lzma_filter>.allocate(capacity: 3)
            chain.initialize(from: [lzma_filter(id: bcj, options: nil),
                                    lzma_filter(id: Self.lzma2ID, options: options),
                                    lzma_filter(id: Self.chainEnd, options: nil)], count: 3)
            chains.append(chain)
        }
        self.chains = chains
        scratch = chains.count > 1 ? CompressorScratch(capacity: max(blockSize, CompressorSupport.metadataBlockSize)) : nil
    }

    deinit {
        for chain in chains { chain.deallocate() }
        for chain in x86Chains + packedChains { chain.deallocate() }
        packedOptions?.deallocate()
        lzmaOptions.deallocate()
    }

    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                  content: BlockContent) throws(SquashFSError) -> Int? {
        switch content {
        case .x86Code where !x86Chains.isEmpty: return try encode(input, into: output, chains: x86Chains)
        case .packedTails where !packedChains.isEmpty: return try encode(input, into: output, chains: packedChains)
        default: return try encode(input, into: output, chains: chains)
        }
    }

    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(SquashFSError) -> Int? {
        try encode(input, into: output, chains: chains)
    }

    /// Each chain in turn; the smallest stream wins, ties to the earlier.
    private func encode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                        chains: [UnsafeMutablePointer<lzma_filter>]) throws(SquashFSError) -> Int? {
        guard !presetFailed else { throw SquashFSError("xz: liblzma rejected preset 6") }
        // Only a result strictly smaller than the input is of use. The
        // encoder's bytes do not depend on the room given (it fails with
        // LZMA_BUF_ERROR when they do not fit), so this equals mksquashfs,
        // which offers a whole block and then discards results >= input.
        let limit = min(output.count, input.count - 1)
        guard limit > 0, let source = input.baseAddress, let destination = output.baseAddress else { return nil }
        scratch?.reserve(limit)

        var best: (buffer: UnsafeMutableRawPointer, length: Int)? = nil
        for chain in chains {
            let target = best?.buffer == destination ? scratch!.pointer : destination
            var length = 0
            let status = lzma_stream_buffer_encode(chain, LZMA_CHECK_CRC32, nil,
                                                   source.assumingMemoryBound(to: UInt8.self), input.count,
                                                   target.assumingMemoryBound(to: UInt8.self), &length, limit)
            if status == LZMA_OK {
                if best == nil || best!.length > length { best = (target, length) }
            } else if status != LZMA_BUF_ERROR {
                throw SquashFSError("xz: lzma_stream_buffer_encode failed (\(Self.describe(status)))")
            }
        }
        guard let chosen = best else { return nil }
        if chosen.buffer != destination {
            destination.copyMemory(from: chosen.buffer, byteCount: chosen.length)
        }
        return chosen.length
    }

    func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(SquashFSError) -> Int {
        guard let source = input.baseAddress, let destination = output.baseAddress else {
            throw SquashFSError("xz: empty block cannot be decompressed")
        }
        // A squashfs dictionary is at most the block size (1 MiB); the
        // limit keeps a crafted stream header from asking liblzma for more.
        var memlimit: UInt64 = 64 << 20
        var inPosition = 0
        var outPosition = 0
        let status = lzma_stream_buffer_decode(&memlimit, 0, nil,
                                               source.assumingMemoryBound(to: UInt8.self), &inPosition, input.count,
                                               destination.assumingMemoryBound(to: UInt8.self), &outPosition, output.count)
        guard status == LZMA_OK, inPosition == input.count else {
            throw SquashFSError("xz: corrupt block or output too small (\(Self.describe(status)), \(input.count - inPosition) input bytes left)")
        }
        return outPosition
    }

    private static func describe(_ status: lzma_ret) -> String {
        switch status {
        case LZMA_MEM_ERROR: return "out of memory"
        case LZMA_MEMLIMIT_ERROR: return "needs more than 64 MiB of memory"
        case LZMA_OPTIONS_ERROR: return "unsupported options"
        case LZMA_DATA_ERROR: return "corrupt data"
        case LZMA_FORMAT_ERROR: return "not an xz stream"
        case LZMA_BUF_ERROR: return "buffer too small"
        case LZMA_UNSUPPORTED_CHECK: return "unsupported check"
        default: return "lzma_ret \(status.rawValue)"
        }
    }
}
