/// One little-endian integer of an erofs on-disk record, at a fixed byte
/// offset from the record's start; its width is its value type's. Each
/// record's field table (the `Fields` beside the type that states the
/// rule) gives every offset and width once: the writer sets fields through
/// it (`FieldRecord`) and the reader gets them through it (`StoredRecord`).
struct Field<Value: FixedWidthInteger & UnsignedInteger> {
    let offset: Int

    init(_ offset: Int) { self.offset = offset }

    var width: Int { Value.bitWidth / 8 }
}

/// A record being written: `size` zero bytes (reserved fields stay zero)
/// whose fields are set by their `Field`.
struct FieldRecord {
    private(set) var bytes: [UInt8]

    init(size: Int) { bytes = [UInt8](repeating: 0, count: size) }

    /// The field of the record that starts at byte `base` (records of one
    /// kind in a row: a directory block's dirents).
    subscript<Value>(_ field: Field<Value>, at base: Int = 0) -> Value {
        get { Value(littleEndianBytes: bytes, at: base + field.offset) }
        set {
            for i in 0..<field.width { bytes[base + field.offset + i] = UInt8(truncatingIfNeeded: newValue >> (8 * i)) }
        }
    }

    /// `raw` copied in at `offset` (a uuid, a name).
    mutating func put(_ raw: [UInt8], at offset: Int) {
        bytes.replaceSubrange(offset..<offset + raw.count, with: raw)
    }
}

extension FixedWidthInteger where Self: UnsignedInteger {
    /// The little-endian value of `bitWidth / 8` bytes at `at`.
    init(littleEndianBytes bytes: [UInt8], at: Int) {
        var value: Self = 0
        for i in (0..<(Self.bitWidth / 8)).reversed() { value = value << 8 | Self(bytes[at + i]) }
        self = value
    }
}
