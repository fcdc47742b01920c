/// Where one inode's data went: the data layout of its inode and what its
/// record in the metadata area carries after the inode.
enum DataPlan {
    /// No data (devices, FIFOs, sockets).
    case none
    /// Full blocks from `block` (0 when there are none) and the tail
    /// inline after the inode, or no inline tail (`flatPlain`).
    case flat(block: UInt32, inline: [UInt8])
    /// `blocks` pclusters, indexed by `index` (`LclusterIndex`).
    case compressed(blocks: UInt32, index: [UInt8], algorithm: UInt8)

    var layout: DataLayout {
        switch self {
        case .none: return .flatPlain
        case .flat(_, let inline): return inline.isEmpty ? .flatPlain : .flatInline
        case .compressed: return .compressedFull
        }
    }

    /// i_u for data-bearing inodes.
    var union: UInt32 {
        switch self {
        case .none: return 0
        case .flat(let block, _): return block
        case .compressed(let blocks, _, _): return blocks
        }
    }

    /// The bytes after the inode in its record.
    func trailer(inodeSize: Int) -> [UInt8] {
        switch self {
        case .none: return []
        case .flat(_, let inline): return inline
        case .compressed(_, let index, let algorithm):
            return MapHeader(algorithm: algorithm).encode() + [UInt8](repeating: 0, count: MapHeader.fullIndexPadding) + index
        }
    }

    var trailerSize: Int {
        switch self {
        case .none: return 0
        case .flat(_, let inline): return inline.count
        case .compressed(_, let index, _): return MapHeader.size + MapHeader.fullIndexPadding + index.count
        }
    }
}
