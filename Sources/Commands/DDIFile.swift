#if canImport(Glibc)
import Glibc
#endif
import DiskImage
import Hex
import SystemIO
import Verity

/// Writing portable DDIs as files, and finding one in a file.
enum DDIFile {
    /// The partition types for `uname -m`.
    static func hostTypes() -> PartitionTypes? {
        PartitionTypes.forSystem(machineName())
    }

    /// Completes the disk in `fd`, whose root partition (at LBA 40, as repart puts it) already
    /// holds the file system: the hash tree after it, the protective MBR and
    /// primary GPT before it, the backup GPT at the end.
    static func wrap(_ fd: Int32, layout: PortableDDI, hashFile: [UInt8]) throws(SystemError) {
        let (head, tail) = layout.gpt().encode()
        try FileDescriptor.truncate(fd, to: layout.diskSize)
        try FileDescriptor.writeAll(fd, head, at: 0)
        try FileDescriptor.writeAll(fd, hashFile, at: layout.verityOffset)
        try FileDescriptor.writeAll(fd, tail, at: layout.gpt().tailOffset)
    }

    /// nil if `file` has no GPT; throws if it has one that is not a
    /// portable DDI as pack writes it.
    static func read(_ file: borrowing OpenFile) throws(CheckFailure) -> DDIPartitions? {
        do {
            return try DDIPartitions.read(fd: file.fd.raw, size: file.size)
        } catch {
            throw CheckFailure.disk(error, path: file.path)
        }
    }
}
