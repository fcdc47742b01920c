import ImageReading

/// An inode, read: at byte meta_blkaddr × block size + nid × 32, either
/// compact (32 bytes: i_format u16, i_xattr_icount u16, i_mode u16,
/// i_nlink u16, i_size u32, i_mtime u32 added to the superblock's epoch,
/// i_u u32, i_ino u32, i_uid u16, i_gid u16, reserved u32) or extended
/// (64 bytes: i_format, i_xattr_icount, i_mode, a u16, i_size u64, i_u,
/// i_ino, i_uid u32, i_gid u32, i_mtime u64, i_mtime_nsec u32, i_nlink
/// u32, reserved). i_format's bit 0 picks the form, bits 1-3 the data
/// layout (0 flat, 1 compressed with full indexes, 2 flat with an inline
/// tail, 3 compressed with compact indexes, 4 chunk-based), bit 4 says a
/// compact non-directory has one link (its i_nlink then holds other
/// things) and a directory has no "." entry. i_u is the first data block
/// (flat), the device number (devices) or the chunk format (chunk-based).
///
/// Inline xattrs follow the inode: none when i_xattr_icount is 0, else a
/// 12-byte header and (i_xattr_icount - 1) × 4 bytes of entries; they are
/// skipped. Inline data, or a compressed file's map header, comes after
/// them.
///
/// Checked: the nid lies inside the image, so does the whole inode with
/// its xattrs; no i_format bit past bit 4; a layout of 0...4; a file type
/// of the seven; a compact inode's time fits the epoch.
struct StoredInode {
    enum Layout: Int {
        case flatPlain = 0, compressedFull = 1, flatInline = 2, compressedCompact = 3, chunkBased = 4
    }

    var nid: UInt64
    /// The inode's first byte in the image.
    var position: UInt64
    var extended: Bool
    var layout: Layout
    var type: EntryType
    var permissions: UInt16
    var size: UInt64
    /// i_u: a block address, a device number or the chunk format.
    var union: UInt32
    var uid: UInt32
    var gid: UInt32
    var mtime: Int64
    var linkCount: UInt32
    var xattrSize: Int

    var inodeSize: Int { extended ? ExtendedInode.size : CompactInode.size }
    /// Where inline data or a map header may start.
    var afterXattrs: UInt64 { position + UInt64(inodeSize + xattrSize) }

    static let slot: UInt64 = 32

    static func read(_ nid: UInt64, superblock sb: StoredSuperblock, range: ImageRange) throws(EROFSError) -> StoredInode {
        let place = "inode \(nid)"
        let slots = (range.length - sb.metaStart) / slot
        guard nid < slots else {
            throw .badImage(place, "nid \(nid) lies past the image's end (the metadata area holds \(slots) slots)")
        }
        let position = sb.metaStart + nid * slot
        typealias C = CompactInode.Fields
        typealias E = ExtendedInode.Fields
        var r = StoredRecord(try range.record(CompactInode.size, at: position, place: place))
        let format = r[C.format]
        guard format >> 5 == 0 else {
            throw .unsupported(place, "i_format 0x\(String(format, radix: 16)) has bits past bit 4; a newer erofs")
        }
        let extended = format & 1 != 0
        if extended { r = StoredRecord(try range.record(ExtendedInode.size, at: position, place: place)) }
        guard let layout = Layout(rawValue: Int(format >> 1) & 7) else {
            throw .badImage(place, "data layout \((format >> 1) & 7) is none of 0...4")
        }
        let mode = r[C.mode]
        guard let type = fileType(mode) else {
            throw .badImage(place, "mode 0o\(String(mode, radix: 8)) is of no file type")
        }
        let icount = Int(r[C.xattrCount])
        var inode = StoredInode(nid: nid, position: position, extended: extended, layout: layout, type: type,
                                permissions: mode & 0o7777, size: 0, union: r[C.union], uid: 0, gid: 0, mtime: 0,
                                linkCount: 0, xattrSize: icount == 0 ? 0 : 12 + 4 * (icount - 1))
        if extended {
            inode.size = r[E.size]; inode.uid = r[E.uid]; inode.gid = r[E.gid]
            inode.mtime = Int64(bitPattern: r[E.mtime]); inode.linkCount = r[E.linkCount]
        } else {
            inode.size = UInt64(r[C.size]); inode.uid = UInt32(r[C.uid]); inode.gid = UInt32(r[C.gid])
            let (time, overflow) = sb.epoch.addingReportingOverflow(UInt64(r[C.mtime]))
            guard !overflow, time <= UInt64(Int64.max) else { throw .badImage(place, "the epoch plus i_mtime overflows") }
            inode.mtime = Int64(time)
            inode.linkCount = format & 0x10 != 0 && type != .directory ? 1 : UInt32(r[C.linkCount])
        }
        guard range.contains(position, count: UInt64(inode.inodeSize + inode.xattrSize)) else {
            throw .badImage(place, "the inode and \(inode.xattrSize) bytes of xattrs run past the image's end")
        }
        return inode
    }

    /// The entry type of a mode's S_IFMT bits.
    static func fileType(_ mode: UInt16) -> EntryType? {
        switch mode & 0o170000 {
        case 0o100000: return .file
        case 0o040000: return .directory
        case 0o120000: return .symlink
        case 0o020000: return .char
        case 0o060000: return .block
        case 0o010000: return .fifo
        case 0o140000: return .socket
        default: return nil
        }
    }

    /// The device number of a character or block device (i_u in the
    /// kernel's new_encode_dev form).
    var device: (major: UInt32, minor: UInt32) {
        ((union >> 8) & 0xFFF, (union & 0xFF) | ((union >> 12) & 0xF_FF00))
    }
}
