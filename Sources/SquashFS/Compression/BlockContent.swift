/// What the writer knows about a block's bytes, for compressors that can
/// tune themselves to it. Decided from the bytes (and where they sit in
/// the image) only, so equal input always gets the same hint.
public enum BlockContent: Sendable {
    /// Nothing known: the configured settings, exactly as mksquashfs uses them.
    case general
    /// A block of an x86 or x86-64 ELF executable or shared object (the
    /// file starts with such a header), or a fragment block whose bytes
    /// are mostly tails of such files: branch targets compress better
    /// after the BCJ x86 transform.
    case x86Code
    /// A fragment block of other files' tails. They are packed end to end
    /// at arbitrary offsets, so the byte position modulo 4 says nothing
    /// about the data and LZMA's position bits only dilute its statistics.
    case packedTails

    /// True when `p` starts with the ELF header of a little-endian x86 or
    /// x86-64 executable or shared object. Relocatable objects (and so
    /// static archives) are left out: their call sites hold zeros waiting
    /// for relocation, and the BCJ transform makes them larger.
    public static func isX86Executable(_ p: UnsafeRawPointer, _ n: Int) -> Bool {
        guard n >= 20 else { return false }
        guard p.load(fromByteOffset: 0, as: UInt8.self) == 0x7f,
              p.load(fromByteOffset: 1, as: UInt8.self) == 0x45,  // E
              p.load(fromByteOffset: 2, as: UInt8.self) == 0x4c,  // L
              p.load(fromByteOffset: 3, as: UInt8.self) == 0x46,  // F
              p.load(fromByteOffset: 5, as: UInt8.self) == 1      // ELFDATA2LSB
        else { return false }
        let type = UInt16(p.load(fromByteOffset: 16, as: UInt8.self)) | UInt16(p.load(fromByteOffset: 17, as: UInt8.self)) << 8
        let machine = UInt16(p.load(fromByteOffset: 18, as: UInt8.self)) | UInt16(p.load(fromByteOffset: 19, as: UInt8.self)) << 8
        return (type == 2 || type == 3) && (machine == 3 || machine == 62)  // ET_EXEC/ET_DYN, EM_386/EM_X86_64
    }
}
