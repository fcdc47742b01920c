/// One way two images' trees differ at one path, as `diff` reports it.
public struct TreeDifference: Sendable {
    /// The JSON `kind`s, in the order `diff` lists a path's differences.
    public enum Kind: String, Sendable, CaseIterable {
        case added, removed, type, mode, owner, size, content, target, device
    }

    public var path: String
    public var kind: Kind
    /// The value in A and in B, as text ("0644", "0:0", a target).
    public var a: String?
    public var b: String?
    /// For `content`: the first byte of the file that differs.
    public var offset: UInt64?

    public init(path: String, kind: Kind, a: String? = nil, b: String? = nil, offset: UInt64? = nil) {
        self.path = path
        self.kind = kind
        self.a = a
        self.b = b
        self.offset = offset
    }
}

/// A piece of one file's content as A and B store it, once compared.
public struct ChunkPair: Sendable {
    public var path: String
    public var a: StoredChunk
    public var b: StoredChunk
    /// The stored (compressed) bytes are equal.
    public var storedEqual: Bool
    /// The decompressed bytes are equal (true when `storedEqual` with the
    /// same codec: then nothing was decompressed).
    public var contentEqual: Bool
}
