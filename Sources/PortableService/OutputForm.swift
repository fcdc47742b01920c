import DiskImage

/// The form an image is written in, with everything that form needs:
/// - `plain`: `NAME.raw`, the squashfs alone;
/// - `veritySidecars`: `NAME.raw` with `NAME.verity` and `NAME.roothash`;
/// - `ddi`: `NAME.raw` as a GPT disk (root and root-verity partitions of
///   these types) with `NAME.roothash`.
/// The Nix attributes `verity`, `format` and the system give it; `pack`'s
/// `--verity`, `--ddi` and `--arch` give the same.
public enum OutputForm: Sendable, Equatable {
    case plain
    case veritySidecars
    case ddi(PartitionTypes)
}
