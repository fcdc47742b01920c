import Foundation
import XCTest

/// What a verification did, so a test can tell "checked by 6 readers" from
/// "only 3 could run".
public struct VerificationReport {
    public var readersRun: [ImageReader] = []
    public var unavailable: [(ImageReader, String)] = []
    public var failureCount = 0
}

/// Checks an image against an expected manifest with every independent
/// reader, reporting each difference as an XCTest failure.
public enum ImageCheck {
    /// Readers that could not run, reported once per process.
    nonisolated(unsafe) static var announcedUnavailable = Set<String>()
    static let lock = NSLock()

    static func announce(_ reader: ImageReader, _ reason: String) {
        lock.lock()
        defer { lock.unlock() }
        if announcedUnavailable.insert(reader.rawValue + reason).inserted {
            print("note: \(reader.rawValue) reader skipped: \(reason)")
        }
    }

    /// Reads `image` with each of `readers` and compares with `expected`.
    /// Unavailable readers are skipped (and printed); any other reader error
    /// is a failure.
    @discardableResult
    public static func verify(
        image: RawPath, expected: Manifest, readers: [ImageReader] = ImageReader.allCases,
        options: ReadOptions, scratch: RawPath, label: String,
        maxLines: Int = 40, file: StaticString = #filePath, line: UInt = #line
    ) -> VerificationReport {
        var report = VerificationReport()
        for reader in readers {
            do {
                let out = try reader.read(image: image, scratch: scratch, options: options)
                report.readersRun.append(reader)
                let diffs = out.differences(from: expected)
                if !diffs.isEmpty {
                    report.failureCount += 1
                    var msg = "[\(label)] \(reader.rawValue) disagrees with the source tree in \(diffs.count) way(s):\n  "
                    msg += diffs.prefix(maxLines).joined(separator: "\n  ")
                    if diffs.count > maxLines { msg += "\n  … and \(diffs.count - maxLines) more" }
                    if !out.notes.isEmpty { msg += "\n  notes: " + out.notes.joined(separator: "; ") }
                    XCTFail(msg, file: file, line: line)
                }
            } catch let u as ReaderUnavailable {
                report.unavailable.append((reader, u.reason))
                announce(reader, u.reason)
            } catch {
                report.failureCount += 1
                XCTFail("[\(label)] \(reader.rawValue) could not read the image: \(error)", file: file, line: line)
            }
        }
        return report
    }

    /// Checks the superblock against what `pack` was asked for: squashfs
    /// 4.0, the compressor and its options block, block size, inode count
    /// (one per path when hard links become separate inodes), a single id
    /// (0), mkfs time = the inode mtime, no xattr table, and bytes_used
    /// within the file. Also cross-checks with `unsquashfs -s`.
    public static func verifySuperblock(
        image: RawPath, options: PackOptions, expected: Manifest, packer: Packer,
        label: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        let sb: Superblock
        do { sb = try Superblock.read(image) } catch {
            XCTFail("[\(label)] superblock: \(error)", file: file, line: line)
            return
        }
        var problems: [String] = []
        if sb.magic != 0x7371_7368 { problems.append("magic 0x\(String(sb.magic, radix: 16)), expected hsqs") }
        if sb.versionMajor != 4 || sb.versionMinor != 0 { problems.append("version \(sb.versionMajor).\(sb.versionMinor), expected 4.0") }
        if sb.compressorName != options.effectiveCompressor { problems.append("compressor \(sb.compressorName), expected \(options.effectiveCompressor)") }
        if Int(sb.blockSize) != options.effectiveBlockSize { problems.append("block size \(sb.blockSize), expected \(options.effectiveBlockSize)") }
        if sb.blockSize > 0 && (1 << Int(sb.blockLog)) != Int(sb.blockSize) { problems.append("block_log \(sb.blockLog) does not match block size \(sb.blockSize)") }
        let wantOptions = Superblock.acceptableOptions(comp: options.comp, blockSize: options.effectiveBlockSize,
                                                       adaptive: !packer.isStandIn && !options.exactBlocks)
        if !wantOptions.contains(where: { $0 == sb.compressorOptions }) {
            problems.append("compressor options \(sb.compressorOptions.map { "\($0)" } ?? "absent"), expected "
                            + wantOptions.map { $0.map { "\($0)" } ?? "absent" }.joined(separator: " or "))
        }
        // One inode per path (the stand-in shares inodes between hard links).
        if packer.hardLinksAsSeparateInodes && Int(sb.inodeCount) != expected.count {
            problems.append("inode count \(sb.inodeCount), expected \(expected.count) (one per path)")
        }
        if sb.idCount != 1 { problems.append("id count \(sb.idCount), expected 1 (everything owned by 0:0)") }
        if Int64(sb.mkfsTime) != options.effectiveMtime { problems.append("mkfs_time \(sb.mkfsTime), expected \(options.effectiveMtime)") }
        if sb.xattrTableStart != UInt64.max { problems.append("xattr table present at \(sb.xattrTableStart); xattrs must be ignored") }
        if sb.bytesUsed > sb.fileSize { problems.append("bytes_used \(sb.bytesUsed) exceeds the file size \(sb.fileSize)") }
        if sb.fileSize % 4096 != 0 { problems.append("image size \(sb.fileSize) is not a multiple of 4096 (loop devices need whole sectors)") }
        // Cross-check with unsquashfs's own reading of the superblock.
        if let r = try? Shell.run("unsquashfs", ["-s", image.string]) {
            if !r.succeeded { problems.append("unsquashfs -s failed: \(r.summary)") }
            else {
                let text = r.stdoutText
                if !text.contains("Compression \(options.effectiveCompressor)") { problems.append("unsquashfs -s does not report compression \(options.effectiveCompressor): \(text)") }
                if !text.contains("Block size \(options.effectiveBlockSize)") { problems.append("unsquashfs -s does not report block size \(options.effectiveBlockSize)") }
            }
        }
        if !problems.isEmpty {
            XCTFail("[\(label)] superblock (\(sb)):\n  " + problems.joined(separator: "\n  "), file: file, line: line)
        }
    }

    /// First differing byte of two files, or nil if identical.
    public static func firstDifference(_ a: RawPath, _ b: RawPath) throws -> String? {
        let x = try Posix.readFile(a), y = try Posix.readFile(b)
        if x == y { return nil }
        let n = min(x.count, y.count)
        var i = 0
        while i < n && x[i] == y[i] { i += 1 }
        if i == n { return "sizes differ: \(x.count) vs \(y.count) bytes (one is a prefix of the other)" }
        return "first difference at byte \(i) (0x\(String(i, radix: 16))) of \(x.count) vs \(y.count) bytes"
    }
}

/// Shared per-test scaffolding: a temporary work directory, the packer,
/// and one-call "pack this and check it with every reader".
open class ImageTestCase: XCTestCase {
    public var work: TemporaryDirectory!
    public var packer: Packer!

    open override func setUpWithError() throws {
        try super.setUpWithError()
        packer = try Packer.current()
        work = try TemporaryDirectory(prefix: "mkportable-\(String(describing: type(of: self)))")
    }

    open override func tearDown() {
        if let work, ProcessInfo.processInfo.environment["MKPORTABLE_TEST_KEEP"] != nil, testRun?.hasSucceeded == false {
            print("note: MKPORTABLE_TEST_KEEP: keeping \(work.path) (sources and images of \(name))")
        } else {
            work?.remove()
        }
        work = nil
        super.tearDown()
    }

    /// A fresh source directory under the work directory.
    public func newSource(_ name: String = "src") throws -> TreeBuilder {
        try TreeBuilder(root: work.sub(RawPath(name)))
    }

    /// Packs `source` into `work/name` and returns the image path.
    @discardableResult
    public func pack(_ source: RawPath, options: PackOptions, name: String = "image.sqfs",
                     file: StaticString = #filePath, line: UInt = #line) throws -> RawPath {
        let image = work.sub(RawPath(name))
        try packer.pack(source: source, image: image, options: options)
        return image
    }

    /// Packs `source` with `options` and checks the image with every reader
    /// (and the superblock) against the source tree.
    @discardableResult
    public func packAndVerify(
        _ source: RawPath, options: PackOptions, readers: [ImageReader] = ImageReader.allCases,
        label: String? = nil, name: String = "image.sqfs", expected: Manifest? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> (image: RawPath, report: VerificationReport) {
        let label = label ?? options.description
        let image = try pack(source, options: options, name: name)
        let want = try expected ?? Manifest.expected(fromSource: source, as: packer.attributes(for: options))
        let scratch = work.sub(RawPath("read-\(name)"))
        try Posix.makeDirectories(scratch)
        defer { Posix.removeTree(scratch) }
        let report = ImageCheck.verify(image: image, expected: want, readers: readers, options: packer.readOptions(),
                                       scratch: scratch, label: label, file: file, line: line)
        ImageCheck.verifySuperblock(image: image, options: options, expected: want, packer: packer, label: label, file: file, line: line)
        let core: Set<ImageReader> = Set(readers).intersection([.unsquashfsPseudo, .unsquashfsExtract, .sqfs2tar])
        let missing = core.subtracting(report.readersRun).map(\.rawValue).sorted()
        XCTAssertTrue(missing.isEmpty, "[\(label)] core readers failed or were unavailable: \(missing.joined(separator: ", "))"
                      + (report.unavailable.isEmpty ? "" : " (unavailable: \(report.unavailable.map { "\($0.0.rawValue): \($0.1)" }))"),
                      file: file, line: line)
        return (image, report)
    }
}
