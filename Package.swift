// swift-tools-version:6.0
import PackageDescription

// Tools version 6.0: the code uses typed throws (`throws(E)`, Swift 6.0).
// It is compiled in the Swift 5 language mode, as it was under tools 5.9
// (the Swift 6 mode's strict concurrency checks reject its use of the C
// `stderr` global).
//
// No package dependencies: the builder runs inside the Nix sandbox, and
// nixpkgs would have to pin every one. C libraries come from pkg-config.
let package = Package(
    name: "mkportable",
    products: [
        .executable(name: "mkportable", targets: ["mkportable"]),
        .library(name: "SquashFS", targets: ["SquashFS"]),
        .library(name: "SystemIO", targets: ["SystemIO"]),
        .library(name: "EROFS", targets: ["EROFS"]),
        .library(name: "SourceTree", targets: ["SourceTree"]),
    ],
    targets: [
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CLZMA", pkgConfig: "liblzma", providers: [.apt(["liblzma-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLZO", pkgConfig: "lzo2", providers: [.apt(["liblzo2-dev"])]),
        // glibc itself: the _GNU_SOURCE constants and calls (no library to find).
        .systemLibrary(name: "CPosix"),
        // The operating system as typed Swift (in the style of swift-system):
        // file descriptors that close themselves, errno as a typed error
        // worded in one place, the one EINTR retry, read/write loops, threads.
        // Every other module may use it; it knows nothing of formats, the
        // command line, the environment or the program.
        .target(name: "SystemIO", dependencies: ["CPosix"]),
        // A file system image read from a byte range of a file: the one
        // interface the squashfs and erofs readers implement and the
        // inspect and diff commands use; knows no format.
        .target(name: "ImageReading", dependencies: ["SystemIO"]),
        // The file tree an image is made of, the disk scan that builds it
        // and the reader of its files' bytes: shared by every file system
        // writer, and knowing none of their formats.
        .target(name: "SourceTree", dependencies: ["SystemIO", "CPosix"]),
        .target(
            name: "SquashFS",
            dependencies: ["SourceTree", "CZstd", "CLZMA", "CZlib", "CLZ4", "CLZO", "CPosix", "SystemIO", "ImageReading"]
        ),
        // Hex text <-> bytes (root hashes, GUIDs). Its own module because
        // Verity and DiskImage both need it and neither needs the other:
        // sidecar verity has no GPT, and GPT code has no business linking
        // libcrypto (Verity's) for twenty lines of hex.
        .target(name: "Hex"),
        // dm-verity hash trees of a stream of 4 KiB blocks; knows nothing of
        // squashfs or systemd.
        .target(name: "Verity", dependencies: ["CCrypto", "Hex", "SystemIO"]),
        // GPT and the discoverable-partition layout of a portable DDI.
        .target(name: "DiskImage", dependencies: ["CZlib", "Hex", "SystemIO"]),
        // erofs images from the same file tree as squashfs.
        .target(name: "EROFS", dependencies: ["SourceTree", "SystemIO", "ImageReading", "CLZ4", "CLZMA", "CZlib", "CZstd"]),
        .target(name: "PortableService", dependencies: ["SourceTree", "SquashFS", "EROFS", "SystemIO", "DiskImage"]),
        // The commands (pack, sign, verify, the Nix builder) as a library, so
        // tests can call them in process; the executable is a thin main.
        .target(name: "Commands", dependencies: ["SquashFS", "EROFS", "ImageReading", "PortableService", "Verity", "DiskImage", "Hex", "CPosix", "SystemIO"]),
        .executableTarget(name: "mkportable", dependencies: ["Commands", "SystemIO"]),
        // What the test targets share: where the reference tools are, and
        // running one. A test target itself (it holds no tests), so that the
        // Nix builds, which copy Sources but not Tests and give each test
        // target an empty directory, need nothing new for it.
        .testTarget(name: "TestSupport"),
        .testTarget(name: "SystemIOTests", dependencies: ["SystemIO"]),
        .testTarget(name: "SquashFSTests", dependencies: ["SquashFS", "ImageReading", "TestSupport"]),
        .testTarget(name: "MkportableTests", dependencies: ["SquashFS", "ImageReading", "PortableService", "DiskImage", "Commands", "EROFS", "TestSupport"]),
        .testTarget(name: "EROFSTests", dependencies: ["EROFS", "SourceTree", "ImageReading", "TestSupport"]),
        .testTarget(name: "VerityTests", dependencies: ["Verity", "DiskImage", "Hex", "TestSupport"]),
        .testTarget(name: "DiskImageTests", dependencies: ["DiskImage", "Hex"]),
    ],
    swiftLanguageModes: [.v5]
)
