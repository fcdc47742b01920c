import Foundation
import XCTest
@testable import SquashFS
import TestSupport

final class CompressionTests: XCTestCase {
    // MARK: - Parsing

    func testAcceptedStrings() throws {
        // (spec, block size, id, canonical description, options bytes)
        let cases: [(String, Int, CompressorID, String, [UInt8]?)] = [
            ("gzip", 1 << 20, .gzip, "gzip", nil),
            ("gzip -Xcompression-level 9", 1 << 20, .gzip, "gzip", nil),
            ("gzip -Xcompression-level 6", 1 << 20, .gzip, "gzip -Xcompression-level 6", [6, 0, 0, 0, 15, 0, 0, 0]),
            ("gzip -Xwindow-size 8", 1 << 20, .gzip, "gzip -Xwindow-size 8", [9, 0, 0, 0, 8, 0, 0, 0]),
            ("gzip -Xstrategy default", 1 << 20, .gzip, "gzip", nil),
            ("gzip -Xstrategy fixed,filtered -Xwindow-size 12", 1 << 20, .gzip,
             "gzip -Xwindow-size 12 -Xstrategy filtered,fixed", [9, 0, 0, 0, 12, 0, 0x12, 0]),
            ("gzip -Xstrategy default,huffman_only -Xstrategy run_length_encoded", 1 << 20, .gzip,
             "gzip -Xstrategy default,huffman_only,run_length_encoded", [9, 0, 0, 0, 15, 0, 0x0d, 0]),
            ("xz", 1 << 20, .xz, "xz", nil),
            ("xz", 4096, .xz, "xz", nil),
            ("xz -Xdict-size 100%", 1 << 20, .xz, "xz", nil),
            ("xz -Xdict-size 1M", 1 << 20, .xz, "xz", nil),
            ("xz -Xdict-size 512K", 1 << 20, .xz, "xz -Xdict-size 512K", [0, 0, 8, 0, 0, 0, 0, 0]),
            ("xz -Xdict-size 512k", 1 << 20, .xz, "xz -Xdict-size 512K", [0, 0, 8, 0, 0, 0, 0, 0]),
            ("xz -Xdict-size 8192", 1 << 17, .xz, "xz -Xdict-size 8K", [0, 0x20, 0, 0, 0, 0, 0, 0]),
            ("xz -Xdict-size 37.5%", 1 << 20, .xz, "xz -Xdict-size 384K", [0, 0, 6, 0, 0, 0, 0, 0]),
            ("xz -Xdict-size 75%", 1 << 17, .xz, "xz -Xdict-size 96K", [0, 0x80, 1, 0, 0, 0, 0, 0]),
            ("xz -Xdict-size 12K", 1 << 17, .xz, "xz -Xdict-size 12K", [0, 0x30, 0, 0, 0, 0, 0, 0]),
            ("xz -Xdict-size 512.0K", 1 << 20, .xz, "xz -Xdict-size 512K", [0, 0, 8, 0, 0, 0, 0, 0]),
            ("xz -Xbcj x86", 1 << 20, .xz, "xz -Xbcj x86", [0, 0, 0x10, 0, 1, 0, 0, 0]),
            // 4K blocks: the stored dictionary is raised to 8 KiB so the
            // kernel's preallocated dictionary fits the metadata streams.
            ("xz -Xbcj x86", 4096, .xz, "xz -Xbcj x86", [0, 0x20, 0, 0, 1, 0, 0, 0]),
            ("xz -Xbcj x86,arm", 1 << 17, .xz, "xz -Xbcj x86,arm", [0, 0, 2, 0, 9, 0, 0, 0]),
            ("xz -Xbcj sparc,armthumb,arm,ia64,powerpc,x86", 1 << 20, .xz,
             "xz -Xbcj x86,powerpc,ia64,arm,armthumb,sparc", [0, 0, 0x10, 0, 0x3f, 0, 0, 0]),
            ("xz -Xbcj arm -Xbcj arm,x86 -Xdict-size 1M -Xdict-size 25%", 1 << 20, .xz,
             "xz -Xbcj x86,arm -Xdict-size 256K", [0, 0, 4, 0, 9, 0, 0, 0]),
            ("zstd", 1 << 20, .zstd, "zstd", nil),
            ("zstd -Xcompression-level 15", 1 << 20, .zstd, "zstd", nil),
            ("zstd -Xcompression-level 19", 1 << 20, .zstd, "zstd -Xcompression-level 19", [19, 0, 0, 0]),
            ("zstd -Xcompression-level 1", 1 << 20, .zstd, "zstd -Xcompression-level 1", [1, 0, 0, 0]),
            ("zstd -Xcompression-level 22", 1 << 20, .zstd, "zstd -Xcompression-level 22", [22, 0, 0, 0]),
            ("lz4", 1 << 20, .lz4, "lz4", [1, 0, 0, 0, 0, 0, 0, 0]),
            ("lz4 -Xhc", 1 << 20, .lz4, "lz4 -Xhc", [1, 0, 0, 0, 1, 0, 0, 0]),
            // lzo: no options block for lzo1x_999 at level 8, however spelled.
            ("lzo", 1 << 20, .lzo, "lzo", nil),
            ("lzo -Xcompression-level 8", 1 << 20, .lzo, "lzo", nil),
            ("lzo -Xalgorithm lzo1x_999 -Xcompression-level 8", 4096, .lzo, "lzo", nil),
            ("lzo -Xcompression-level 9", 1 << 20, .lzo, "lzo -Xcompression-level 9", [4, 0, 0, 0, 9, 0, 0, 0]),
            ("lzo -Xcompression-level 1", 1 << 17, .lzo, "lzo -Xcompression-level 1", [4, 0, 0, 0, 1, 0, 0, 0]),
            ("lzo -Xalgorithm lzo1x_1", 1 << 20, .lzo, "lzo -Xalgorithm lzo1x_1", [0, 0, 0, 0, 0, 0, 0, 0]),
            ("lzo -Xalgorithm lzo1x_1_11", 1 << 20, .lzo, "lzo -Xalgorithm lzo1x_1_11", [1, 0, 0, 0, 0, 0, 0, 0]),
            ("lzo -Xalgorithm lzo1x_1_12", 1 << 20, .lzo, "lzo -Xalgorithm lzo1x_1_12", [2, 0, 0, 0, 0, 0, 0, 0]),
            ("lzo -Xalgorithm lzo1x_1_15", 1 << 20, .lzo, "lzo -Xalgorithm lzo1x_1_15", [3, 0, 0, 0, 0, 0, 0, 0]),
            // Later options replace earlier ones; the level is checked
            // against the final algorithm, as in lzo_options_post.
            ("lzo -Xalgorithm lzo1x_1 -Xcompression-level 3 -Xalgorithm lzo1x_999", 1 << 20, .lzo,
             "lzo -Xcompression-level 3", [4, 0, 0, 0, 3, 0, 0, 0]),
            ("lzo -Xcompression-level 2 -Xcompression-level 8", 1 << 20, .lzo, "lzo", nil),
            ("  xz\t-Xbcj   x86  ", 1 << 20, .xz, "xz -Xbcj x86", [0, 0, 0x10, 0, 1, 0, 0, 0]),
            // mksquashfs takes one trailing comma in a list.
            ("xz -Xbcj x86,", 1 << 20, .xz, "xz -Xbcj x86", [0, 0, 0x10, 0, 1, 0, 0, 0]),
        ]
        for (spec, blockSize, id, description, options) in cases {
            let compressor: any Compressor
            do {
                compressor = try parseCompressor(spec, blockSize: blockSize)
            } catch {
                XCTFail("\(spec) (block \(blockSize)) rejected: \(error)")
                continue
            }
            XCTAssertEqual(compressor.id, id, spec)
            XCTAssertEqual(compressor.description, description, spec)
            XCTAssertEqual(compressor.options, options, spec)
            // The canonical description parses back to the same settings.
            let again = try parseCompressor(compressor.description, blockSize: blockSize)
            XCTAssertEqual(again.description, compressor.description, spec)
            XCTAssertEqual(again.options, compressor.options, spec)
        }
    }

    func testRejectedStrings() {
        let xzForms = "accepted: -Xbcj FILTER[,FILTER...] (x86, powerpc, ia64, arm, armthumb, sparc), -Xdict-size SIZE (bytes, NK, NM or N% of the block size)"
        let cases: [(String, Int, [String])] = [
            ("", 1 << 20, ["no compressor", "gzip, xz, zstd, lz4, lzo"]),
            ("brotli", 1 << 20, ["unknown compressor \"brotli\"", "gzip, xz, zstd, lz4, lzo"]),
            ("lzma", 1 << 20, ["compressor lzma is not supported", "cannot mount", "accepted: gzip, xz, zstd, lz4, lzo"]),
            ("LZO", 1 << 20, ["unknown compressor \"LZO\""]),
            ("lzo -Xalgorithm", 1 << 20, ["-Xalgorithm needs a value", "lzo1x_1, lzo1x_1_11, lzo1x_1_12, lzo1x_1_15, lzo1x_999"]),
            ("lzo -Xalgorithm lzo1x", 1 << 20, ["unknown algorithm \"lzo1x\" in -Xalgorithm; accepted: lzo1x_1, lzo1x_1_11, lzo1x_1_12, lzo1x_1_15, lzo1x_999"]),
            ("lzo -Xalgorithm LZO1X_1", 1 << 20, ["unknown algorithm \"LZO1X_1\""]),
            ("lzo -Xalgorithm lzo1x_1 -Xcompression-level 5", 1 << 20, ["-Xcompression-level 5 applies to lzo1x_999 only, not to -Xalgorithm lzo1x_1"]),
            ("lzo -Xcompression-level 5 -Xalgorithm lzo1x_1_15", 1 << 20, ["applies to lzo1x_999 only, not to -Xalgorithm lzo1x_1_15"]),
            ("lzo -Xcompression-level 10", 1 << 20, ["-Xcompression-level 10 is out of range", "from 1 to 9"]),
            ("lzo -Xcompression-level 0", 1 << 20, ["out of range"]),
            ("lzo -Xcompression-level", 1 << 20, ["-Xcompression-level needs a value", "lzo1x_999 only"]),
            ("lzo -Xhc", 1 << 20, ["unknown option -Xhc for lzo; accepted: -Xalgorithm ALGORITHM (lzo1x_1, lzo1x_1_11, lzo1x_1_12, lzo1x_1_15, lzo1x_999; default lzo1x_999), -Xcompression-level N (1..9, default 8; lzo1x_999 only)"]),
            ("lzo lzo1x_1", 1 << 20, ["unexpected \"lzo1x_1\"", "accepted for lzo: -Xalgorithm"]),
            // OpenWrt's xz options are not squashfs-tools 4.6.1's.
            ("xz -Xpreset 9", 1 << 20, ["unknown option -Xpreset for xz (an OpenWrt extension, not in squashfs-tools 4.6.1); " + xzForms]),
            ("xz -Xe", 1 << 20, ["unknown option -Xe for xz (an OpenWrt extension"]),
            ("xz -Xlc 0", 1 << 20, ["unknown option -Xlc for xz (an OpenWrt extension"]),
            ("XZ", 1 << 20, ["unknown compressor \"XZ\""]),
            ("xz -Xfoo", 1 << 20, ["unknown option -Xfoo for xz; " + xzForms]),
            ("xz -Xbcj", 1 << 20, ["-Xbcj needs a value", "x86, powerpc"]),
            ("xz -Xbcj mips", 1 << 20, ["unknown filter \"mips\"", "x86, powerpc, ia64, arm, armthumb, sparc"]),
            ("xz -Xbcj x86,,arm", 1 << 20, ["empty item"]),
            ("xz -Xbcj ,x86", 1 << 20, ["empty item"]),
            ("gzip -Xstrategy fixed,,filtered", 1 << 20, ["empty item"]),
            ("xz -Xdict-size", 1 << 20, ["-Xdict-size needs a value", "NK, NM or N%"]),
            ("xz -Xdict-size abc", 1 << 20, ["-Xdict-size abc is not a size", "N% of the block size"]),
            ("xz -Xdict-size 4K", 1 << 20, ["4K (4096 bytes) is below the minimum of 8192"]),
            ("xz -Xdict-size 0", 1 << 20, ["below the minimum of 8192"]),
            ("xz -Xdict-size 2M", 1 << 20, ["2M (2097152 bytes) is larger than the block size (1048576 bytes)"]),
            ("xz -Xdict-size 99999999999M", 1 << 20, ["larger than the block size"]),
            ("xz -Xdict-size 100K", 1 << 20, ["100K (102400 bytes) cannot be stored in the xz header", "2^n or 2^n+2^(n-1)"]),
            ("xz -Xdict-size 60%", 1 << 20, ["cannot be stored in the xz header"]),
            ("xz -Xdict-size 150%", 1 << 20, ["percentage must be above 0 and at most 100"]),
            ("xz -Xdict-size 0%", 1 << 20, ["percentage must be above 0"]),
            ("xz -Xdict-size 1.5K", 1 << 20, ["only a percentage of the block size may be fractional"]),
            ("xz -Xdict-size 0.5M", 1 << 20, ["only a percentage of the block size may be fractional"]),
            ("xz -Xdict-size 512KB", 1 << 20, ["is not a size"]),
            ("xz -Xdict-size 50%", 8192, ["(4096 bytes) is below the minimum of 8192"]),
            ("xz 6", 1 << 20, ["unexpected \"6\"", "accepted for xz: -Xbcj"]),
            ("xz -Xcompression-level 6", 1 << 20, ["unknown option -Xcompression-level for xz"]),
            ("gzip -Xcompression-level", 1 << 20, ["-Xcompression-level needs a value", "1..9"]),
            ("gzip -Xcompression-level 10", 1 << 20, ["-Xcompression-level 10 is out of range", "from 1 to 9"]),
            ("gzip -Xcompression-level 0", 1 << 20, ["out of range", "from 1 to 9"]),
            ("gzip -Xcompression-level 9x", 1 << 20, ["9x is not a whole number"]),
            ("gzip -Xcompression-level -1", 1 << 20, ["-1 is not a whole number"]),
            ("gzip -Xwindow-size 7", 1 << 20, ["-Xwindow-size 7 is out of range", "from 8 to 15"]),
            ("gzip -Xwindow-size 16", 1 << 20, ["out of range"]),
            ("gzip -Xstrategy rle", 1 << 20, ["unknown strategy \"rle\"", "default, filtered, huffman_only, run_length_encoded, fixed"]),
            ("gzip -Xhc", 1 << 20, ["unknown option -Xhc for gzip", "-Xcompression-level N (1..9, default 9)", "-Xwindow-size", "-Xstrategy"]),
            ("zstd -Xcompression-level 23", 1 << 20, ["-Xcompression-level 23 is out of range", "from 1 to 22"]),
            ("zstd -Xcompression-level 0", 1 << 20, ["out of range"]),
            ("zstd -Xcompression-level 99999999999999999999999", 1 << 20, ["out of range"]),
            ("zstd -Xhc", 1 << 20, ["unknown option -Xhc for zstd", "-Xcompression-level N (1..22, default 15)"]),
            ("lz4 -Xcompression-level 3", 1 << 20, ["unknown option -Xcompression-level for lz4", "-Xhc"]),
            ("lz4 -Xhc 5", 1 << 20, ["unexpected \"5\""]),
            ("xz", 1000, ["block size 1000 is not a power of two"]),
        ]
        // One message whole, to the letter.
        do {
            _ = try parseCompressor("xz -Xfoo", blockSize: 1 << 20)
            XCTFail("xz -Xfoo accepted")
        } catch {
            XCTAssertEqual(error.message, "unknown option -Xfoo for xz; " + xzForms)
        }
        for (spec, blockSize, fragments) in cases {
            do {
                let compressor = try parseCompressor(spec, blockSize: blockSize)
                XCTFail("\"\(spec)\" was accepted as \(compressor.description)")
            } catch {
                let message = error.message
                XCTAssertFalse(message.contains("\n"), "multi-line message: \(message)")
                // The problem alone: the caller names the setting (pack's
                // `--comp "…": `, the builder's attribute).
                XCTAssertEqual(error.kind, .invalidSetting, message)
                XCTAssertFalse(message.contains("--comp"), message)
                for fragment in fragments {
                    XCTAssertTrue(message.contains(fragment), "\"\(spec)\": message \"\(message)\" lacks \"\(fragment)\"")
                }
            }
        }
    }

    func testParseBlockSize() throws {
        let good: [(String, Int)] = [("131072", 131072), ("128K", 131072), ("128k", 131072), ("1M", 1 << 20),
                                     ("1m", 1 << 20), ("4K", 4096), ("4096", 4096), ("1048576", 1 << 20), ("64K", 65536)]
        for (text, size) in good {
            XCTAssertEqual(try parseBlockSize(text), size, text)
        }
        let bad: [(String, String)] = [("", "not a size"), ("abc", "not a size"), ("128KB", "not a size"),
                                       ("2K", "out of range"), ("2M", "out of range"), ("100K", "not a power of two"),
                                       ("131073", "not a power of two"), ("-4K", "not a size"), ("1.5M", "not a size"),
                                       ("99999999999999999999M", "out of range"), ("0", "out of range")]
        for (text, fragment) in bad {
            do {
                let size = try parseBlockSize(text)
                XCTFail("\"\(text)\" accepted as \(size)")
            } catch {
                XCTAssertTrue(error.message.contains(fragment), "\"\(text)\": \(error.message)")
                XCTAssertEqual(error.kind, .invalidSetting, error.message)
                XCTAssertFalse(error.message.contains("--block-size"), error.message)
                XCTAssertTrue(error.message.contains("power of two from 4096 to 1048576"), error.message)
                XCTAssertTrue(error.message.contains("128K"), error.message)
                XCTAssertFalse(error.message.contains("\n"))
            }
        }
    }

    // MARK: - Compression

    static let allSpecs = [
        "gzip", "gzip -Xcompression-level 1 -Xwindow-size 8",
        "gzip -Xstrategy default,filtered,huffman_only,run_length_encoded,fixed",
        "xz", "xz -Xdict-size 25%", "xz -Xbcj x86,arm,powerpc,ia64,armthumb,sparc",
        "zstd", "zstd -Xcompression-level 1", "zstd -Xcompression-level 19",
        "lz4", "lz4 -Xhc",
        "lzo", "lzo -Xcompression-level 1", "lzo -Xalgorithm lzo1x_1", "lzo -Xalgorithm lzo1x_1_11",
        "lzo -Xalgorithm lzo1x_1_12", "lzo -Xalgorithm lzo1x_1_15",
    ]

    func testRoundTrip() throws {
        let blockSize = 1 << 17
        let samples: [(String, [UInt8], Bool)] = [
            ("text", Samples.text(blockSize), true),
            ("zeros", [UInt8](repeating: 0, count: blockSize), true),
            ("random", Samples.random(blockSize, seed: 1), false),
            ("short text", Array(Samples.text(3000)), true),
            ("metadata-sized text", Array(Samples.text(8192)), true),
            ("executable", Samples.executable(blockSize), true),
            ("one byte", [42], false),
            ("tiny random", Samples.random(40, seed: 7), false),
        ]
        for spec in Self.allSpecs {
            let compressor = try parseCompressor(spec, blockSize: blockSize)
            for (label, worker) in [("data", compressor.makeWorker()), ("metadata", compressor.makeMetadataWorker())] {
                for (name, input, compressible) in samples {
                    let compressed = try Self.compress(worker, input, room: blockSize)
                    if !compressible {
                        XCTAssertNil(compressed, "\(spec) \(label): \(name) should not compress")
                        continue
                    }
                    guard let compressed else {
                        XCTFail("\(spec) \(label): \(name) did not compress")
                        continue
                    }
                    XCTAssertLessThan(compressed.count, input.count)
                    XCTAssertEqual(try Self.decompress(worker, compressed, room: blockSize), input, "\(spec) \(label): \(name)")
                    // Any worker of the same algorithm reads it.
                    let other = try parseCompressor(String(spec.split(separator: " ")[0]), blockSize: blockSize).makeWorker()
                    XCTAssertEqual(try Self.decompress(other, compressed, room: blockSize), input, "\(spec) \(label): \(name)")
                }
            }
        }
    }

    func testDeterminismAndRoomIndependence() throws {
        let blockSize = 1 << 17
        let input = Samples.text(blockSize / 2) + Samples.executable(blockSize / 2)
        for spec in Self.allSpecs {
            let compressor = try parseCompressor(spec, blockSize: blockSize)
            let worker = compressor.makeWorker()
            let first = try XCTUnwrap(try Self.compress(worker, input, room: blockSize), spec)
            // Same worker again, after other blocks went through it.
            _ = try Self.compress(worker, Samples.random(5000, seed: 3), room: blockSize)
            _ = try Self.compress(worker, Samples.text(700), room: blockSize)
            XCTAssertEqual(try Self.compress(worker, input, room: blockSize), first, spec)
            // A fresh worker, and one on another thread.
            XCTAssertEqual(try Self.compress(compressor.makeWorker(), input, room: blockSize), first, spec)
            let box = ResultBox()
            let done = DispatchSemaphore(value: 0)
            let thread = Thread {
                box.value = try? Self.compress(compressor.makeWorker(), input, room: blockSize)
                done.signal()
            }
            thread.start()
            done.wait()
            XCTAssertEqual(box.value, first, spec)
            // The room offered changes nothing as long as the result fits.
            XCTAssertEqual(try Self.compress(compressor.makeWorker(), input, room: input.count * 2), first, spec)
            XCTAssertEqual(try Self.compress(compressor.makeWorker(), input, room: first.count + 1), first, spec)
        }
    }

    func testBestOfSeveralPicksSmallest() throws {
        let blockSize = 1 << 17
        let input = Samples.executable(blockSize)
        // With several xz filters the result is the smallest of the single ones.
        var sizes: [Int] = []
        for spec in ["xz", "xz -Xbcj x86", "xz -Xbcj arm", "xz -Xbcj sparc"] {
            let worker = try parseCompressor(spec, blockSize: blockSize).makeWorker()
            sizes.append(try XCTUnwrap(try Self.compress(worker, input, room: blockSize)).count)
        }
        let all = try parseCompressor("xz -Xbcj x86,arm,sparc", blockSize: blockSize).makeWorker()
        XCTAssertEqual(try XCTUnwrap(try Self.compress(all, input, room: blockSize)).count, sizes.min())

        var gzipSizes: [Int] = []
        for strategy in GzipCompressor.Strategy.allCases {
            let worker = GzipCompressor(strategies: [strategy]).makeWorker()
            gzipSizes.append(try XCTUnwrap(try Self.compress(worker, input, room: blockSize)).count)
        }
        let every = GzipCompressor(strategies: Set(GzipCompressor.Strategy.allCases)).makeWorker()
        XCTAssertEqual(try XCTUnwrap(try Self.compress(every, input, room: blockSize)).count, gzipSizes.min())
    }

    func testStreamFormats() throws {
        let input = Samples.text(50_000)
        // xz: a whole .xz stream with check CRC32 (stream flags 00 01).
        let xz = try XCTUnwrap(try Self.compress(try parseCompressor("xz", blockSize: 1 << 17).makeWorker(), input, room: 1 << 17))
        XCTAssertEqual(Array(xz.prefix(8)), [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x01])
        XCTAssertEqual(Array(xz.suffix(2)), [0x59, 0x5a])
        // gzip: a zlib stream (CMF 0x78 = deflate, 32K window; level 9 -> FLEVEL 3).
        let gz = try XCTUnwrap(try Self.compress(try parseCompressor("gzip", blockSize: 1 << 17).makeWorker(), input, room: 1 << 17))
        XCTAssertEqual(Array(gz.prefix(2)), [0x78, 0xda])
        let gz8 = try XCTUnwrap(try Self.compress(try parseCompressor("gzip -Xwindow-size 8", blockSize: 1 << 17).makeWorker(), input, room: 1 << 17))
        // zlib itself raises windowBits 8 to 9 for zlib streams (CINFO 1);
        // mksquashfs gets the same, as the byte comparison below shows.
        XCTAssertEqual(gz8[0], 0x18)
        // zstd: a frame.
        let zs = try XCTUnwrap(try Self.compress(try parseCompressor("zstd", blockSize: 1 << 17).makeWorker(), input, room: 1 << 17))
        XCTAssertEqual(Array(zs.prefix(4)), [0x28, 0xb5, 0x2f, 0xfd])
    }

    func testCorruptInputThrows() throws {
        let input = Samples.text(20_000)
        for spec in ["gzip", "xz", "zstd", "lz4", "lzo"] {
            let worker = try parseCompressor(spec, blockSize: 1 << 17).makeWorker()
            var compressed = try XCTUnwrap(try Self.compress(worker, input, room: 1 << 17))
            compressed[compressed.count / 2] ^= 0x55
            compressed.removeLast(compressed.count / 4)
            XCTAssertThrowsError(try Self.decompress(worker, compressed, room: 1 << 17), spec)
            // Too little room for the output.
            let good = try XCTUnwrap(try Self.compress(worker, input, room: 1 << 17))
            XCTAssertThrowsError(try Self.decompress(worker, good, room: 1000), spec)
        }
    }

    /// The xz CLI (a separate decoder from the one in liblzma's buffer API
    /// path we use) must read our blocks as plain .xz files.
    func testXzCLIReadsBlocks() throws {
        guard let xz = ReferenceTools.installed("xz") else { throw XCTSkip("xz not installed") }
        let input = Samples.text(40_000) + Samples.executable(60_000)
        let dir = try Tools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for spec in ["xz", "xz -Xbcj x86,arm", "xz -Xdict-size 8K"] {
            let worker = try parseCompressor(spec, blockSize: 1 << 17).makeWorker()
            let compressed = try XCTUnwrap(try Self.compress(worker, input, room: 1 << 17))
            let file = dir.appendingPathComponent("block.xz")
            try Data(compressed).write(to: file)
            let result = try Subprocess.run(xz, ["-d", "-c", file.path], standardError: .discarded)
            XCTAssertEqual(result.status, 0, spec)
            XCTAssertEqual([UInt8](result.data), input, spec)
        }
    }

    /// The strongest check: mksquashfs 4.5.1 (if installed) must write the
    /// very same options block, data blocks and metadata blocks.
    func testMatchesMksquashfs() throws {
        guard let mksquashfs = ReferenceTools.installed("mksquashfs") else { throw XCTSkip("mksquashfs not installed") }
        let dir = try Tools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }

        let cases: [(spec: String, blockSize: Int)] = [
            ("gzip", 1 << 17), ("gzip -Xcompression-level 6 -Xwindow-size 12 -Xstrategy filtered,huffman_only,fixed", 1 << 17),
            ("gzip -Xstrategy default,run_length_encoded", 4096),
            ("xz", 1 << 17), ("xz -Xdict-size 25%", 1 << 17), ("xz -Xbcj x86,arm -Xdict-size 64K", 1 << 17),
            ("xz", 4096), ("xz -Xbcj x86", 1 << 20),
            ("zstd", 1 << 17), ("zstd -Xcompression-level 19", 1 << 17), ("zstd -Xcompression-level 3", 4096),
            ("lz4", 1 << 17), ("lz4 -Xhc", 1 << 17), ("lz4 -Xhc", 4096),
            ("lzo", 1 << 17), ("lzo", 4096), ("lzo -Xcompression-level 9", 1 << 17), ("lzo -Xcompression-level 1", 1 << 17),
            ("lzo -Xalgorithm lzo1x_1", 1 << 17), ("lzo -Xalgorithm lzo1x_1_11", 4096),
            ("lzo -Xalgorithm lzo1x_1_12", 1 << 20), ("lzo -Xalgorithm lzo1x_1_15", 1 << 17),
        ]
        var sources: [Int: (URL, [UInt8])] = [:]
        for (spec, blockSize) in cases {
            if sources[blockSize] == nil {
                sources[blockSize] = try Self.makeSourceTree(in: dir, blockSize: blockSize)
            }
            let (source, big) = sources[blockSize]!
            let compressor = try parseCompressor(spec, blockSize: blockSize)
            let image = dir.appendingPathComponent("image.sqfs")
            let arguments = [source.path, image.path, "-noappend", "-no-fragments", "-no-xattrs", "-quiet",
                             "-no-progress", "-b", "\(blockSize)", "-comp"] + spec.split(separator: " ").map(String.init)
            let run = try Subprocess.run(mksquashfs, arguments, standardError: .discarded)
            XCTAssertEqual(run.status, 0, "\(spec): mksquashfs failed")
            let spec = "\(spec) (block size \(blockSize))"
            let bytes = [UInt8](try Data(contentsOf: image))
            func le16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
            func le64(_ at: Int) -> Int { (0..<8).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }

            // Superblock: compression id, COMPRESSOR_OPTIONS flag, options block.
            XCTAssertEqual(le16(20), Int(compressor.id.rawValue), spec)
            let hasOptions = le16(24) & 0x0400 != 0
            XCTAssertEqual(hasOptions, compressor.options != nil, spec)
            var offset = 96
            if let options = compressor.options {
                XCTAssertEqual(le16(96), 0x8000 | options.count, spec)
                XCTAssertEqual(Array(bytes[98..<98 + options.count]), options, "\(spec): options block")
                offset = 98 + options.count
            }

            // Data blocks of the big file, in order.
            let worker = compressor.makeWorker()
            var blockIndex = 0
            for start in stride(from: 0, to: big.count, by: blockSize) {
                let block = Array(big[start..<min(start + blockSize, big.count)])
                let expected = try Self.compress(worker, block, room: blockSize) ?? block
                Self.assertSameBytes(Array(bytes[offset..<offset + expected.count]), expected,
                                     "\(spec): data block \(blockIndex) differs from mksquashfs")
                offset += expected.count
                blockIndex += 1
            }

            // The first inode-table block: read it back, compress it with the
            // metadata worker, expect mksquashfs's bytes.
            let inodeTable = le64(64)
            let header = le16(inodeTable)
            XCTAssertEqual(header & 0x8000, 0, "\(spec): inode table block is stored uncompressed")
            let stored = Array(bytes[inodeTable + 2..<inodeTable + 2 + (header & 0x7fff)])
            let plain = try Self.decompress(worker, stored, room: 8192)
            XCTAssertEqual(plain.count, 8192, spec)
            Self.assertSameBytes(try Self.compress(compressor.makeMetadataWorker(), plain, room: 8192) ?? plain, stored,
                                 "\(spec): metadata block differs from mksquashfs")
        }
    }

    /// mksquashfs decides what a string means: for each of these, it and
    /// parseCompressor must agree on accept or refuse (squashfs-tools
    /// 4.6.1 parses -X options exactly as the 4.5.1 installed here).
    func testAcceptanceAgreesWithMksquashfs() throws {
        let mksquashfs = try MksquashfsProbe()
        let specs = [
            "lzo", "lzo -Xalgorithm lzo1x_1", "lzo -Xalgorithm lzo1x_1_11", "lzo -Xalgorithm lzo1x_1_12",
            "lzo -Xalgorithm lzo1x_1_15", "lzo -Xalgorithm lzo1x_999", "lzo -Xcompression-level 1",
            "lzo -Xcompression-level 9 -Xalgorithm lzo1x_999", "lzo -Xalgorithm lzo1x_1 -Xalgorithm lzo1x_999 -Xcompression-level 4",
            "lzo -Xalgorithm lzo1x", "lzo -Xalgorithm lzo1x_1 -Xcompression-level 5", "lzo -Xcompression-level 5 -Xalgorithm lzo1x_1",
            "lzo -Xcompression-level 10", "lzo -Xcompression-level 0", "lzo -Xhc", "lzo -Xalgorithm", "LZO",
            "xz -Xpreset 9", "xz -Xe", "xz -Xlc 0", "xz -Xlp 2", "xz -Xpb 2", "xz -Xbcj x86,", "xz -Xbcj x86,,arm",
            "gzip -Xwindow-size 8", "gzip -Xstrategy fixed", "zstd -Xcompression-level 22", "lz4 -Xhc", "zstd -Xhc",
        ]
        for spec in specs {
            let ours = (try? parseCompressor(spec, blockSize: 1 << 17)) != nil
            let theirs = try mksquashfs.accepts(["-b", "128K", "-comp"] + spec.split(separator: " ").map(String.init))
            XCTAssertEqual(ours, theirs, "\(spec): parseCompressor \(ours ? "accepts" : "refuses"), mksquashfs \(theirs ? "accepts" : "refuses")")
        }
    }

    /// The one rule for xz's dictionary (`XzCompressor.isAcceptedDictionarySize`):
    /// the block size itself at every block size, anything else 8 KiB up to
    /// the block size. mksquashfs (4.5.1 here; 4.7.5 alike) agrees on every
    /// case but one, on purpose: it refuses the block size as dictionary when
    /// blocks are under 8 KiB ("-Xdict-size should be 8192 bytes or larger").
    func testXzDictionaryRuleAgreesWithMksquashfsButForSmallBlocks() throws {
        XCTAssertTrue(XzCompressor.isAcceptedDictionarySize(4096, blockSize: 4096))
        XCTAssertFalse(XzCompressor.isAcceptedDictionarySize(2048, blockSize: 4096))
        XCTAssertFalse(XzCompressor.isAcceptedDictionarySize(8192, blockSize: 4096))
        XCTAssertTrue(XzCompressor.isAcceptedDictionarySize(8192, blockSize: 16384))
        XCTAssertFalse(XzCompressor.isAcceptedDictionarySize(4096, blockSize: 16384))
        XCTAssertFalse(XzCompressor.isAcceptedDictionarySize(10240, blockSize: 16384))
        // "100%" and no -Xdict-size are one compressor at 4K, as at 1M.
        let full = try parseCompressor("xz -Xdict-size 100%", blockSize: 4096)
        let plain = try parseCompressor("xz", blockSize: 4096)
        XCTAssertEqual(full.description, plain.description)
        XCTAssertEqual(full.options, plain.options)
        let mksquashfs = try MksquashfsProbe()
        var disagreements: [String] = []
        for (block, blockText) in [(4096, "4K"), (8192, "8K"), (16384, "16K")] {
            for dict in ["100%", "50%", "75%", "4K", "8K", "12K", "16K", "4096", "8192"] {
                let spec = "xz -Xdict-size \(dict)"
                let ours = (try? parseCompressor(spec, blockSize: block)) != nil
                let theirs = try mksquashfs.accepts(["-b", blockText, "-comp", "xz", "-Xdict-size", dict])
                if ours != theirs { disagreements.append("-b \(blockText) \(spec): ours \(ours), mksquashfs \(theirs)") }
            }
        }
        XCTAssertEqual(disagreements, ["-b 4K xz -Xdict-size 100%: ours true, mksquashfs false",
                                       "-b 4K xz -Xdict-size 4K: ours true, mksquashfs false",
                                       "-b 4K xz -Xdict-size 4096: ours true, mksquashfs false"])
    }

    /// Adapted xz (the pack default without -Xbcj): `.general` blocks keep
    /// mksquashfs's bytes, `.x86Code` blocks go through [x86, LZMA2] and
    /// `.packedTails` through LZMA2 with pb=0; the options block announces
    /// the x86 filter; every variant is a plain .xz stream that decodes.
    func testAdaptedXzChoosesChainByContent() throws {
        let plain = try parseCompressor("xz", blockSize: 1 << 17)
        let adapted = plain.adaptedToContent()
        XCTAssertNil(plain.options)
        XCTAssertEqual(adapted.options, [0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00], "dictionary 128K, filter bit x86")
        // An explicit -Xbcj keeps mksquashfs's rule: hints change nothing.
        let bcj = try parseCompressor("xz -Xbcj x86,arm", blockSize: 1 << 17)
        XCTAssertEqual(bcj.adaptedToContent().options, bcj.options)

        let code = Samples.executable(100_000)
        let text = Samples.text(100_000)
        let general = adapted.makeWorker(), reference = plain.makeWorker()
        func run(_ w: any CompressorWorker, _ input: [UInt8], _ content: BlockContent) throws -> [UInt8] {
            var out = [UInt8](repeating: 0, count: input.count)
            let n = try input.withUnsafeBytes { i in try out.withUnsafeMutableBytes { o in try w.compress(i, into: o, content: content) } }
            return Array(out[..<(try XCTUnwrap(n))])
        }
        for input in [code, text] {
            XCTAssertEqual(try run(general, input, .general), try XCTUnwrap(try Self.compress(reference, input, room: 1 << 17)))
        }
        let x86 = try run(general, code, .x86Code)
        let tails = try run(general, text, .packedTails)
        // Block header (after the 12-byte stream header): size byte, flags
        // (filter count - 1 in the low bits; bits 6 and 7: a compressed and
        // an uncompressed size follow as varints), then the filter ids.
        func firstFilter(_ stream: [UInt8]) -> UInt8 {
            var i = 14
            for bit in [UInt8(0x40), 0x80] where stream[13] & bit != 0 {
                while stream[i] & 0x80 != 0 { i += 1 }
                i += 1
            }
            return stream[i]
        }
        XCTAssertEqual(x86[13] & 0x03, 1, "two filters")
        XCTAssertEqual(firstFilter(x86), 0x04, "first filter is x86 BCJ")
        XCTAssertEqual(firstFilter(tails), 0x21, "LZMA2 alone")
        XCTAssertEqual(tails[13] & 0x03, 0, "one filter")
        XCTAssertNotEqual(tails, try run(general, text, .general), "pb=0 changes the stream")
        XCTAssertEqual(try Self.decompress(general, x86, room: 1 << 17), code)
        XCTAssertEqual(try Self.decompress(general, tails, room: 1 << 17), text)
        // Other compressors ignore hints.
        let zstd = try parseCompressor("zstd", blockSize: 1 << 17)
        XCTAssertNil(zstd.adaptedToContent().options)
        let zw = zstd.makeWorker()
        XCTAssertEqual(try run(zw, code, .x86Code), try run(zw, code, .general))
    }

    /// Only little-endian x86 / x86-64 executables and shared objects count
    /// as x86 code; relocatable objects, other machines and short or
    /// non-ELF input do not.
    func testX86ExecutableDetection() {
        func header(type: UInt16, machine: UInt16, data: UInt8 = 1) -> [UInt8] {
            var h = [UInt8](repeating: 0, count: 64)
            h[0...3] = [0x7f, 0x45, 0x4c, 0x46]
            h[4] = 2; h[5] = data
            h[16] = UInt8(type & 0xff); h[17] = UInt8(type >> 8)
            h[18] = UInt8(machine & 0xff); h[19] = UInt8(machine >> 8)
            return h
        }
        func check(_ bytes: [UInt8], count: Int? = nil) -> Bool {
            bytes.withUnsafeBytes { BlockContent.isX86Executable($0.baseAddress!, count ?? bytes.count) }
        }
        XCTAssertTrue(check(header(type: 3, machine: 62)))   // x86-64 shared object
        XCTAssertTrue(check(header(type: 2, machine: 62)))   // x86-64 executable
        XCTAssertTrue(check(header(type: 2, machine: 3)))    // i386 executable
        XCTAssertFalse(check(header(type: 1, machine: 62)))  // relocatable object
        XCTAssertFalse(check(header(type: 3, machine: 183))) // aarch64
        XCTAssertFalse(check(header(type: 3, machine: 62, data: 2)))  // big-endian
        XCTAssertFalse(check(header(type: 3, machine: 62), count: 19))
        XCTAssertFalse(check(Array("#!/bin/sh\nexec true\n".utf8)))
        if let bash = FileManager.default.contents(atPath: "/bin/bash") {
            #if arch(x86_64)
            XCTAssertTrue(check([UInt8](bash.prefix(64))), "/bin/bash of this machine")
            #endif
        }
    }

    /// Tails are packed in similarity order: x86 executables first, then
    /// data order, except that one stem in a directory and its parent
    /// forms a group at the group's first file in the parent.
    func testTailSimilarityOrder() {
        // Directory ranks: 0 = /, 1 = /lib, 2 = /lib/__pycache__, 3 = /other.
        let places: [TailPlace] = [
            TailPlace(name: named("b.py"), directory: 1, parent: 0),                     // 0
            TailPlace(name: named("a.cpython-311.pyc"), directory: 2, parent: 1),        // 1
            TailPlace(name: named("zz.txt"), directory: 0, parent: -1),                  // 2
            TailPlace(name: named("a.py"), directory: 1, parent: 0),                     // 3
            TailPlace(name: named("libz.so.1"), directory: 3, parent: 0),                // 4, x86
            TailPlace(name: named("a.py"), directory: 3, parent: 0),                     // 5: not below /lib
            TailPlace(name: named("a.cpython-311.opt-1.pyc"), directory: 2, parent: 1),  // 6
            TailPlace(name: named("b.pyi"), directory: 1, parent: 0),                    // 7
            TailPlace(name: named(".a"), directory: 1, parent: 0),                       // 8: stem ".a", not "a"
        ]
        let order = TailOrder.similarityOrder(Array(0..<Int32(places.count)), x86: [4], places: { places[$0] })
        XCTAssertEqual(order, [4, 0, 7, 2, 3, 1, 6, 5, 8])
        // Several x86 tails keep the similarity order among themselves
        // (not data order: 6 before 4), as do the others after them.
        let several = TailOrder.similarityOrder(Array(0..<Int32(places.count)), x86: [6, 0, 4], places: { places[$0] })
        XCTAssertEqual(several, [0, 6, 4, 7, 2, 3, 1, 5, 8])
    }

    /// Stems are told apart past their first 8 bytes (which the grouping
    /// compares as one number first), and a stem of 8 bytes from the same
    /// 8 bytes and more: each stem its own group, at its first file.
    func testTailGroupsTellLongStemsApart() {
        let names = ["abcdefghij.c", "abcdefghik.c", "abcdefghij.h", "abc.c", "abcdefgh.x",
                     "abcdefgh1.x", "abcdefgh.y", "abc.h", "abcdefghik.h"]
        let places = names.map { TailPlace(name: named($0), directory: 1, parent: 0) }
        let order = TailOrder.similarityOrder(Array(0..<Int32(places.count)), x86: [], places: { places[$0] })
        XCTAssertEqual(order, [0, 2, 1, 8, 3, 7, 4, 6, 5])
    }

    /// `name` as the tree hands names on: a slice of a larger buffer, not
    /// starting at index 0.
    private func named(_ name: String) -> ArraySlice<UInt8> {
        Array(("//" + name).utf8)[2...]
    }

    // MARK: - Helpers

    /// A source tree for mksquashfs: one big file whose blocks are text,
    /// random (stored raw), machine code, nearly all zeros (but not sparse)
    /// and a short tail, sorted first so its blocks follow the options
    /// block; then 400 small files, enough inodes for a full, compressed
    /// 8 KiB inode-table block.
    static func makeSourceTree(in dir: URL, blockSize: Int) throws -> (URL, [UInt8]) {
        var mostlyZero = [UInt8](repeating: 0, count: blockSize)
        for i in stride(from: 0, to: blockSize, by: 4099) { mostlyZero[i] = UInt8(truncatingIfNeeded: i | 1) }
        let big = Samples.text(blockSize) + Samples.random(blockSize, seed: 9) + Samples.executable(blockSize)
            + mostlyZero + Samples.text(min(5000, blockSize - 1))
        let source = dir.appendingPathComponent("src-\(blockSize)")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        try Data(big).write(to: source.appendingPathComponent("0000big"))
        for i in 0..<400 {
            try Data("small file \(i)\n".utf8).write(to: source.appendingPathComponent(String(format: "f%04d", i)))
        }
        return (source, big)
    }

    /// Equality of byte arrays, reported as lengths and the first difference.
    static func assertSameBytes(_ actual: [UInt8], _ expected: [UInt8], _ message: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        guard actual != expected else { return }
        let firstDifference = zip(actual, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(actual.count, expected.count)
        XCTFail("\(message): \(actual.count) bytes vs \(expected.count) expected, first difference at \(firstDifference)",
                file: file, line: line)
    }

    static func compress(_ worker: any CompressorWorker, _ input: [UInt8], room: Int) throws -> [UInt8]? {
        var output = [UInt8](repeating: 0, count: max(room, input.count))
        let length = try input.withUnsafeBytes { source in
            try output.withUnsafeMutableBytes { destination in
                try worker.compress(source, into: destination)
            }
        }
        guard let length else { return nil }
        return Array(output[..<length])
    }

    static func decompress(_ worker: any CompressorWorker, _ input: [UInt8], room: Int) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: room)
        let length = try input.withUnsafeBytes { source in
            try output.withUnsafeMutableBytes { destination in
                try worker.decompress(source, into: destination)
            }
        }
        return Array(output[..<length])
    }
}

private final class ResultBox: @unchecked Sendable {
    var value: [UInt8]? = nil
}

/// Deterministic sample data.
private enum Samples {
    static func text(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count + 100)
        var line = 0
        let words = ["squashfs", "block", "inode", "directory", "fragment", "compress", "the", "of", "and", "table"]
        while out.count < count {
            out += Array("\(line): \(words[line % 10]) \(words[(line * 7) % 10]) \(words[(line * 3 + 1) % 10]) \(line * line % 9973)\n".utf8)
            line += 1
        }
        return Array(out.prefix(count))
    }

    static func random(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state >> 24)
        }
    }

    /// Machine code if a system binary is at hand, otherwise code-like data:
    /// x86 call instructions (E8 rel32) between structured filler.
    static func executable(_ count: Int) -> [UInt8] {
        for path in ["/bin/bash", "/usr/bin/bash", "/bin/sh"] {
            if let data = FileManager.default.contents(atPath: path), data.count >= count + 8192 {
                return Array([UInt8](data)[4096..<4096 + count])
            }
        }
        var out: [UInt8] = []
        var i = 0
        while out.count < count {
            let target = UInt32(truncatingIfNeeded: (i * 37) % 4096 * 16 - out.count)
            out += [0x55, 0x48, 0x89, 0xe5, 0xe8] + withUnsafeBytes(of: target.littleEndian, Array.init) + [0x5d, 0xc3, 0x90]
            i += 1
        }
        return Array(out.prefix(count))
    }
}

private enum Tools {
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("compression-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// The installed mksquashfs and a one-file tree to pack, to ask it whether
/// it accepts a command line (the test is skipped without mksquashfs).
final class MksquashfsProbe {
    let tool: String
    let dir: URL

    init() throws {
        guard let tool = ReferenceTools.installed("mksquashfs") else { throw XCTSkip("mksquashfs not installed") }
        self.tool = tool
        dir = try Tools.temporaryDirectory()
        let source = dir.appendingPathComponent("src")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        try Data("x\n".utf8).write(to: source.appendingPathComponent("f"))
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    /// Whether mksquashfs packs the tree with `options` (exit status 0).
    func accepts(_ options: [String]) throws -> Bool {
        let source = dir.appendingPathComponent("src").path, image = dir.appendingPathComponent("image.sqfs").path
        return try Subprocess.run(tool, [source, image, "-noappend", "-quiet", "-no-progress"] + options, standardError: .discarded).status == 0
    }
}
