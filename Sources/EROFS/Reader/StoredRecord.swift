import SystemIO
import ImageReading

/// The little-endian fields of an on-disk record that was read whole (its
/// length checked by the read that fetched it), at the format's fixed
/// offsets. Every erofs integer is little-endian.
struct StoredRecord {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func u8(_ at: Int) -> UInt8 { bytes[at] }
    func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
    func u32(_ at: Int) -> UInt32 { UInt32(u16(at)) | UInt32(u16(at + 2)) << 16 }
    func u64(_ at: Int) -> UInt64 { UInt64(u32(at)) | UInt64(u32(at + 4)) << 32 }

    /// A field of the record's table, of the record starting at byte
    /// `base` (records of one kind in a row: a directory block's dirents).
    subscript<Value>(_ field: Field<Value>, at base: Int = 0) -> Value {
        Value(littleEndianBytes: bytes, at: base + field.offset)
    }
}

extension EROFSError {
    /// The image breaks a rule of the format at `place`.
    static func badImage(_ place: String, _ problem: String) -> EROFSError {
        EROFSError("\(place): \(problem)", kind: .badImage)
    }

    /// The image uses what this reader does not read.
    static func unsupported(_ place: String, _ problem: String) -> EROFSError {
        EROFSError("\(place): \(problem)", kind: .unsupportedImage)
    }

    /// An image range's failure, said where it happened: an out-of-range
    /// read is a bad image, a failed system call an I/O error.
    static func reading(_ error: ImageReadError, _ place: String) -> EROFSError {
        switch error.kind {
        case .outOfRange: return .badImage(place, error.message)
        case .io(let code): return EROFSError("\(place): \(error.message)", kind: .io(code))
        }
    }
}

extension ImageRange {
    /// `count` bytes at `at`, failing with the module's error naming
    /// `place`; nothing is allocated before the range is checked.
    func record(_ count: Int, at: UInt64, place: @autoclosure () -> String) throws(EROFSError) -> [UInt8] {
        do { return try read(count, at: at) } catch { throw .reading(error, place()) }
    }
}
