/// The partition types of a portable-service DDI, per architecture.
///
/// Rule: the UAPI group's Discoverable Partitions Specification (type
/// UUIDs) and systemd's gpt.c (the names, which systemd-repart also uses as
/// default partition labels: `root-x86-64`, `root-x86-64-verity`,
/// `root-x86-64-verity-sig`).
public struct PartitionTypes: Sendable, Equatable {
    /// systemd's architecture name, as in the labels (`x86-64`, `arm64`).
    public var architecture: String
    public var root: GUID
    public var rootVerity: GUID
    public var rootVeritySignature: GUID

    public var rootLabel: String { "root-\(architecture)" }
    public var rootVerityLabel: String { "root-\(architecture)-verity" }
    public var rootVeritySignatureLabel: String { "root-\(architecture)-verity-sig" }

    static func t(_ arch: String, _ r: String, _ v: String, _ s: String) -> PartitionTypes {
        PartitionTypes(architecture: arch, root: GUID(r)!, rootVerity: GUID(v)!, rootVeritySignature: GUID(s)!)
    }

    /// Keyed by the CPU name of a Nix system (`x86_64-linux` → `x86_64`)
    /// and of `uname -m`.
    public static let byCPU: [String: PartitionTypes] = [
        "x86_64": t("x86-64", "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5", "41092b05-9fc8-4523-994f-2def0408b176"),
        "aarch64": t("arm64", "b921b045-1df0-41c3-af44-4c6f280d3fae", "df3300ce-d69f-4c92-978c-9bfb0f38d820", "6db69de6-29f4-4758-a7a5-962190f00ce3"),
        "i686": t("x86", "44479540-f297-41b2-9af7-d131d5f0458a", "d13c5d3b-b5d1-422a-b29f-9454fdc89d76", "5996fc05-109c-48de-808b-23fa0830b676"),
        "armv7l": t("arm", "69dad710-2ce4-4e3c-b16c-21a1d49abed3", "7386cdf2-203c-47a9-a498-f2ecce45a2d6", "42b0455f-eb11-491d-98d3-56145ba9d037"),
        "riscv64": t("riscv64", "72ec70a6-cf74-40e6-bd49-4bda08e8f224", "b6ed5582-440b-4209-b8da-5ff7c419ea3d", "efe0f087-ea8d-4469-821a-4c2a96a8386a"),
        "loongarch64": t("loongarch64", "77055800-792c-4f94-b39a-98c91b762bb6", "f3393b22-e9af-4613-a948-9d3bfbd0c535", "5afb67eb-ecc8-4f85-ae8e-ac1e7c50e7d0"),
        "powerpc64le": t("ppc64-le", "c31c45e6-3f39-412e-80fb-4809c4980599", "906bd944-4589-4aae-a4e4-dd983917446a", "d4a236e7-e873-4c07-bf1d-bf6cf7f1c3c6"),
        "s390x": t("s390x", "5eead9a9-fe09-4a1e-a1d7-520d00531306", "b325bfbe-c7be-4ab8-8357-139e652d2f6b", "c80187a5-73a3-491a-901a-017c3fa953e9"),
    ]

    /// The types for a Nix system (`x86_64-linux`) or a CPU name.
    public static func forSystem(_ system: String) -> PartitionTypes? {
        let cpu = system.split(separator: "-").first.map(String.init) ?? system
        return byCPU[cpu == "armv7a" || cpu == "armv6l" ? "armv7l" : cpu]
    }

    /// The types whose root, verity or signature type is `type`.
    public static func containing(_ type: GUID) -> PartitionTypes? {
        byCPU.values.first { $0.root == type || $0.rootVerity == type || $0.rootVeritySignature == type }
    }
}
