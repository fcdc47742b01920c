import Foundation
import XCTest
import EROFS
import SourceTree
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The README's claim, measured for erofs: `nix-store --optimise` turns
/// identical store files into hard links, nixpkgs' image builder copies
/// the closure with `cp -a` (which keeps them), and mkfs.erofs writes a
/// hard-linked tree differently from the same tree without links, unless
/// told `--hard-dereference` (erofs-utils 1.7 and later; Debian 12's 1.5
/// has no such option). mkportable's image is the same either way.
final class HardLinkDeterminismTests: ScratchTestCase {

    /// Two store paths shipping the same LICENSE, and a file of their own
    /// each: `linked`, the two LICENSEs are one inode (as after optimise).
    /// Every time stamp is 0, so only the links differ between the trees.
    func makeStore(_ name: String, linked: Bool) throws -> String {
        let root = scratch + "/" + name
        let store = root + "/nix/store"
        let fm = FileManager.default
        let license = Data(EROFSWriterTests.bytes(20_000, seed: 42, compressible: true))
        for (i, p) in ["00000000000000000000000000000000-tools", "11111111111111111111111111111111-docs"].enumerated() {
            try fm.createDirectory(atPath: "\(store)/\(p)/share", withIntermediateDirectories: true)
            try Data("own file \(i)\n".utf8).write(to: URL(fileURLWithPath: "\(store)/\(p)/share/own"))
            if i == 1 && linked {
                try fm.linkItem(atPath: "\(store)/00000000000000000000000000000000-tools/share/LICENSE", toPath: "\(store)/\(p)/share/LICENSE")
            } else {
                try license.write(to: URL(fileURLWithPath: "\(store)/\(p)/share/LICENSE"))
            }
        }
        let r = try Subprocess.run("/usr/bin/find", [root, "-exec", "touch", "-h", "-d", "@0", "{}", "+"])
        XCTAssertEqual(r.status, 0, r.text)
        return root
    }

    func sha256(_ path: String) throws -> String {
        let r = try Subprocess.run("/usr/bin/sha256sum", [path])
        XCTAssertEqual(r.status, 0, r.text)
        return String(r.text.prefix(64))
    }

    /// mkfs.erofs `tool` on both trees with every other source of
    /// difference pinned (time stamps, UUID, owners): the two images'
    /// digests.
    func mkfs(_ tool: String, _ trees: [String], extra: [String]) throws -> [String] {
        try trees.enumerated().map { i, tree in
            let image = "\(scratch)/mkfs-\(i)-\(extra.joined()).img"
            let r = try Subprocess.run(tool, extra + ["-T0", "-U00000000-0000-0000-0000-000000000001", "--all-root", image, tree])
            XCTAssertEqual(r.status, 0, "\(tool): \(r.text)")
            return try sha256(image)
        }
    }

    func testMkfsErofsChangesWithTheStoresHardLinksAndMkportableDoesNot() throws {
        let trees = [try makeStore("optimised", linked: true), try makeStore("plain", linked: false)]
        var st = stat()
        XCTAssertEqual(lstat(trees[0] + "/nix/store/11111111111111111111111111111111-docs/share/LICENSE", &st), 0)
        XCTAssertEqual(st.st_nlink, 2, "the optimised tree must hold the hard link")

        var ran = 0
        for tool in ["/usr/bin/mkfs.erofs", ReferenceTools.path("mkfs.erofs")].compactMap({ $0 }) where FileManager.default.isExecutableFile(atPath: tool) {
            for z in [[], ["-zlz4hc"]] {
                let d = try mkfs(tool, trees, extra: z)
                XCTAssertNotEqual(d[0], d[1], "\(tool) \(z): the hard links made no difference, so this test shows nothing")
            }
            ran += 1
        }
        XCTAssertGreaterThan(ran, 0, "no mkfs.erofs to compare with")
        if let reference = ReferenceTools.path("mkfs.erofs") {
            let d = try mkfs(reference, trees, extra: ["--hard-dereference"])
            XCTAssertEqual(d[0], d[1], "mkfs.erofs 1.9.3 --hard-dereference")
        }

        for z in ["none", EROFSOptions().compression.description] {
            var digests: [String] = []
            for (i, tree) in trees.enumerated() {
                guard case .directory(var root) = try scanSource(path: tree) else { return XCTFail("not a directory") }
                root.mode = 0o755
                let image = "\(scratch)/ours-\(i)-\(z).img"
                let fd = open(image, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                _ = try writeEROFSImage(root: root, to: fd, options: EROFSOptions(compression: Compression(parsing: z)))
                close(fd)
                digests.append(try sha256(image))
                if let fsck = ReferenceTools.path("fsck.erofs") {
                    let out = "\(scratch)/extract-\(i)-\(z)"
                    let problem = try ErofsExtraction.extract(fsck, image: image, to: out)
                    XCTAssertNil(problem, problem ?? "")
                    XCTAssertEqual(Manifest.differences(Manifest.masked(try Manifest.ofDisk(tree), 0o777), Manifest.masked(try Manifest.ofDisk(out), 0o777)), [])
                }
            }
            XCTAssertEqual(digests[0], digests[1], "\(z): the store's hard links changed mkportable's image")
        }
    }
}
