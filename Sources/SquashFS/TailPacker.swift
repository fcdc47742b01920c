/// Packs file tails into fragment blocks (squashfs-tools-ng's
/// block_processor "adding tail-ends to fragment blocks").
///
/// On-disk rule: the tail of a file (its bytes after the last full block,
/// or the whole of a file smaller than a block) is stored in a fragment
/// block at an offset; the inode names the fragment's index and the offset,
/// the fragment table (`FragmentTable`) where the block lives. Tails are
/// appended in the order they come (see `similarityOrder`) and a new
/// fragment block starts when the next tail does not fit in the current one,
/// so no tail spans two blocks.
///
/// A fragment block whose bytes are mostly tails of x86 executables (the
/// sniff below) carries the `.x86Code` hint, any other `.packedTails`: an
/// adapted compressor may use them, and either way the hint depends on the
/// bytes alone.
final class TailPacker {
    private let blockSize: Int
    private let pipeline: BlockPipeline
    private(set) var fragments = FragmentTable()

    private var slot: BlockPipeline.Slot?
    private var index: UInt32 = 0
    /// Bytes of tails of x86 executables in `slot`.
    private var x86Bytes = 0

    init(blockSize: Int, pipeline: BlockPipeline) {
        self.blockSize = blockSize
        self.pipeline = pipeline
    }

    /// Appends a tail of `n` bytes; returns its fragment index and offset.
    func append(_ p: UnsafeRawPointer, _ n: Int, x86: Bool) throws(SquashFSError) -> (fragment: UInt32, offset: UInt32) {
        if let slot, slot.length + n > blockSize {
            submit()
        }
        if slot == nil {
            let s = try pipeline.acquire()
            index = fragments.reserve()
            s.kind = .fragment(index)
            s.hole = false
            s.length = 0
            x86Bytes = 0
            slot = s
        }
        let s = slot!
        (s.buffer + s.length).copyMemory(from: p, byteCount: n)
        let offset = UInt32(s.length)
        s.length += n
        if x86 { x86Bytes += n }
        return (index, offset)
    }

    /// Hands the current fragment block, if any, to the pipeline.
    func submit() {
        guard let s = slot else { return }
        // Mostly machine code: the x86 filter; otherwise tuned for packing.
        s.content = x86Bytes * 2 > s.length ? .x86Code : .packedTails
        pipeline.submit(s)
        slot = nil
    }

    /// Records where the pipeline wrote fragment block `index`.
    func stored(_ index: UInt32, start: UInt64, sizeWord: UInt32) {
        fragments.set(index, start: start, size: sizeWord)
    }

    // MARK: the x86 sniff

    /// Whether a file smaller than a block is an x86 executable, by its
    /// first 20 bytes, for `similarityOrder` (which puts machine code
    /// first). Only files that look like programs or libraries
    /// (`mayBeExecutable`) are opened, to spare an extra open of every other
    /// small file; one that cannot be read now is simply not grouped (pass 2
    /// reads it again and reports any error there).
    static func sniffX86(_ file: File, name: ArraySlice<UInt8>, displayPath: @autoclosure @escaping () -> String,
                         header: UnsafeMutableRawPointer) -> Bool {
        guard file.size >= 20, mayBeExecutable(file, name: name),
              let reader = try? SourceReader(file, displayPath: displayPath()) else { return false }
        guard (try? reader.read(into: header, count: 20, at: 0)) != nil else { return false }
        return BlockContent.isX86Executable(header, 20)
    }

    /// Executable bits, or a shared-object name ("lib.so", "lib.so.1"):
    /// the small files whose headers pass 1 reads.
    static func mayBeExecutable(_ file: File, name: ArraySlice<UInt8>) -> Bool {
        if file.mode & 0o111 != 0 { return true }
        let so: [UInt8] = Array(".so".utf8)
        var i = name.startIndex
        while i + 3 <= name.endIndex {
            if name[i] == so[0] && name[i + 1] == so[1] && name[i + 2] == so[2]
                && (i + 3 == name.endIndex || name[i + 3] == UInt8(ascii: ".")) { return true }
            i += 1
        }
        return false
    }
}
