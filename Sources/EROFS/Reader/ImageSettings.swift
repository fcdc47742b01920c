import ImageReading

/// What `inspect` shows of an erofs image's superblock and compression
/// configurations.
extension EROFSImage {
    static let compatibleNames: [(UInt32, String)] = [
        (0x01, "sb-checksum"), (0x02, "mtime"), (0x04, "xattr-filter"), (0x08, "shared-xattrs-in-metabox"),
        (0x10, "plain-xattr-prefixes"), (0x20, "ishare-xattrs"),
    ]

    public var settings: [ImageSetting] {
        let sb = superblock
        let compressors = sb.incompatible.contains(.compressionConfigs) || sb.incompatible.contains(.zeroPadding)
            ? configs.descriptions : []
        return [
            ImageSetting("compressors", .list(compressors)),
            ImageSetting("blockSize", .number(UInt64(sb.blockSize))),
            ImageSetting("blocks", .number(UInt64(sb.blocks))),
            ImageSetting("imageSize", .number(range.length)),
            ImageSetting("inodes", .number(sb.inodeCount)),
            ImageSetting("epoch", .number(sb.epoch)),
            ImageSetting("uuid", .text(Self.uuidText(sb.uuid))),
            ImageSetting("volumeName", .text(String(decoding: sb.volumeName.prefix { $0 != 0 }, as: UTF8.self))),
            ImageSetting("features", .list(sb.incompatible.names)),
            ImageSetting("compatibleFeatures", .list(Self.compatibleNames.filter { sb.compatible & $0.0 != 0 }.map(\.1))),
            ImageSetting("rootNid", .number(sb.rootNid)),
            ImageSetting("metaBlock", .number(UInt64(sb.metaBlockAddress))),
            ImageSetting("packedInode", .flag(sb.packedNid != nil)),
        ]
    }

    static func uuidText(_ bytes: [UInt8]) -> String {
        var out = ""
        for (i, b) in bytes.enumerated() {
            if [4, 6, 8, 10].contains(i) { out += "-" }
            out += (b < 16 ? "0" : "") + String(b, radix: 16)
        }
        return out
    }
}
