import Hex

/// A `.roothash` file: the root hash as text.
///
/// Rule (systemd's reading of it, dissect-image.c with unhexmem): written
/// as lower-case hex and a newline; read back, hex digits of either case
/// with any surrounding whitespace, at least 16 bytes' worth, an even
/// number of digits and nothing else.
public enum RootHashFile {
    public static func encode(_ rootHash: [UInt8]) -> [UInt8] {
        Array((hex(rootHash) + "\n").utf8)
    }

    public static func decode(_ bytes: [UInt8]) throws(VerityError) -> [UInt8] {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || (0x09...0x0d).contains($0) }
        let trimmed = bytes.drop(while: isSpace).reversed().drop(while: isSpace).reversed()
        guard let h = unhex(Substring(String(decoding: Array(trimmed), as: UTF8.self))), h.count >= 16 else {
            throw VerityError(.rootHash, "not a root hash (one line of hex digits, at least 32)")
        }
        return h
    }
}
