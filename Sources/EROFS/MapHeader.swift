/// The 8-byte header of a compressed inode's index, at the first 8-byte
/// boundary after the inode: h_fragmentoff / (h_reserved1 u16, h_idata_size
/// u16), h_advise u16 (0: full 8-byte indexes, one-block pclusters, no tail
/// packing), h_algorithmtype u8 (low nibble: the HEAD1 algorithm, high:
/// HEAD2's), h_clusterbits u8 (lcluster size as log2 - 12: 0 for 4 KiB).
struct MapHeader {
    static let size = 8
    /// The full index needs 8 further reserved bytes before its records.
    static let fullIndexPadding = 8

    var algorithm: UInt8

    func encode() -> [UInt8] {
        var b = LittleEndian(capacity: MapHeader.size)
        b.u16(0)
        b.u16(0)
        b.u16(0)
        b.u8(algorithm | algorithm << 4)
        b.u8(0)
        return b.bytes
    }
}
