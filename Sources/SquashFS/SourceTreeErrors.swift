@_exported import SourceTree

extension SquashFSError {
    /// A failure of the source tree (a scan, a file's reading), carried up
    /// as the writer's own: its message whole, its kind kept where the
    /// writer has the same one.
    public init(_ e: SourceTreeError) {
        let kind: Kind
        switch e.kind {
        case .other: kind = .other
        case .io(let errno): kind = .io(errno)
        case .sourceChanged: kind = .sourceChanged
        }
        self.init(e.message, kind: kind, path: e.path)
    }
}

/// Runs a source-tree step inside the writer, whose errors are its own.
@inline(__always)
func sourced<T: ~Copyable>(_ body: () throws(SourceTreeError) -> T) throws(SquashFSError) -> T {
    do {
        return try body()
    } catch {
        throw SquashFSError(error)
    }
}
