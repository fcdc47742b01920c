import ImageReading

/// What `inspect` shows of a squashfs image's superblock and options.
extension SquashFSImage {
    static let flagNames: [(Superblock.Flags, String)] = [
        (.uncompressedInodes, "uncompressed-inodes"), (.uncompressedData, "uncompressed-data"),
        (.uncompressedFragments, "uncompressed-fragments"), (.noFragments, "no-fragments"),
        (.alwaysFragments, "always-fragments"), (.duplicates, "duplicates"), (.exportable, "exportable"),
        (.uncompressedXattrs, "uncompressed-xattrs"), (.noXattrs, "no-xattrs"),
        (.compressorOptions, "compressor-options"), (.uncompressedIds, "uncompressed-ids"),
    ]

    public var settings: [ImageSetting] {
        let sb = superblock
        return [
            ImageSetting("compressor", .text(compressorDescription)),
            ImageSetting("blockSize", .number(UInt64(sb.blockSize))),
            ImageSetting("bytesUsed", .number(sb.bytesUsed)),
            ImageSetting("imageSize", .number(range.length)),
            ImageSetting("inodes", .number(UInt64(sb.inodeCount))),
            ImageSetting("fragments", .number(UInt64(sb.fragmentCount))),
            ImageSetting("ids", .number(UInt64(sb.idCount))),
            ImageSetting("modificationTime", .number(UInt64(sb.modificationTime))),
            ImageSetting("flags", .list(Self.flagNames.filter { sb.flags.contains($0.0) }.map(\.1))),
            ImageSetting("exportTable", .flag(sb.exportTableStart != Superblock.absent)),
            ImageSetting("xattrTable", .flag(sb.xattrTableStart != Superblock.absent)),
        ]
    }
}
