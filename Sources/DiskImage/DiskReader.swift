import SystemIO

/// Positioned reads of a disk image, through the OS layer.
enum DiskReader {
    /// Exactly `count` bytes at `offset` of `fd`.
    static func read(_ fd: Int32, at offset: UInt64, count: Int) throws(DiskImageError) -> [UInt8] {
        if count == 0 { return [] }
        var out = [UInt8](repeating: 0, count: count)
        let result: Result<Int, SystemError> = out.withUnsafeMutableBytes { b in
            do throws(SystemError) { return .success(try Posix.preadFully(fd, b.baseAddress!, count, offset)) } catch { return .failure(error) }
        }
        let got: Int
        switch result {
        case .success(let n): got = n
        case .failure(let e): throw DiskImageError(.read(errno: e.errno.code), "cannot read bytes \(offset)-\(offset + UInt64(count) - 1)")
        }
        guard got == count else { throw DiskImageError(.read(errno: 0), "the disk ends before byte \(offset + UInt64(count))") }
        return out
    }
}
