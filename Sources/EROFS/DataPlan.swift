/// Where one inode's data went: the data layout of its inode and what its
/// record in the metadata area carries after the inode.
///
/// One is held per regular file from the data pass to the metadata area,
/// so it is 16 bytes: an inline tail's length is under a block (16 bits),
/// and the compressed case, rare on trees of small files (they are
/// fragments), is boxed; unboxed, every plan took its 40 bytes.
enum DataPlan {
    /// No data (devices, FIFOs, sockets).
    case none
    /// Full blocks from `block` (0 when there are none) and the last
    /// `inline` bytes after the inode (0: no inline tail, `flatPlain`).
    /// The tail is not kept here: it is the inode's own bytes (a file's,
    /// a directory's or a link target's), which the writer fetches again
    /// when it writes the record, so that the tails of many small files
    /// are never all in memory at once.
    case flat(block: UInt32, inline: UInt16)
    /// `blocks` pclusters' blocks, the map header, the index and the
    /// inline tail pcluster (empty without one); `full`: the index is a
    /// `FullIndex` (data layout 1), else a `CompactIndex`.
    indirect case compressed(blocks: UInt32, header: MapHeader, index: [UInt8], inline: [UInt8], full: Bool)
    /// The whole file at `offset` of the packed inode.
    case fragment(offset: UInt64)

    var layout: DataLayout {
        switch self {
        case .none: return .flatPlain
        case .flat(_, let inline): return inline == 0 ? .flatPlain : .flatInline
        case .compressed(_, _, _, _, let full): return full ? .compressedFull : .compressedCompact
        case .fragment: return .compressedFull
        }
    }

    /// i_u for data-bearing inodes.
    var union: UInt32 {
        switch self {
        case .none, .fragment: return 0
        case .flat(let block, _): return block
        case .compressed(let blocks, _, _, _, _): return blocks
        }
    }

    /// The bytes after the inode in its record (inodes are 32 or 64
    /// bytes, so the map header's 8-byte boundary is the inode's end),
    /// but for a flat inline tail, which the writer supplies.
    var trailer: [UInt8] {
        switch self {
        case .none, .flat: return []
        case .compressed(_, let header, let index, let inline, _): return header.encode() + index + inline
        case .fragment(let offset): return FragmentReference(offset: offset).encode()
        }
    }

    var trailerSize: Int {
        switch self {
        case .none: return 0
        case .flat(_, let inline): return Int(inline)
        case .compressed(_, _, let index, let inline, _): return MapHeader.size + index.count + inline.count
        case .fragment: return FragmentReference.size
        }
    }
}
