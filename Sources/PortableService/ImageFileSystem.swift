import EROFS

/// The file system an image holds, chosen by the `filesystem` attribute:
/// squashfs (the default, as nixpkgs; its settings are `ImageSpec.squash`)
/// or erofs with its compression (`erofs-compression`, mkfs.erofs's `-z`
/// syntax, checked when read). The writers share everything after it.
public enum ImageFileSystem: Sendable, Equatable {
    case squashfs
    case erofs(Compression)
}
