import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The Nix settings the tests build with, in a configuration folder of
/// their own: every command a test starts gets NIX_CONF_DIR pointing at it
/// (see `Shell.spawn`), so Nix reads this nix.conf instead of the
/// machine's /etc/nix/nix.conf. The tests neither need nor change the
/// machine's configuration, and a user's substituters or sandbox paths
/// never reach a test build:
///
///     sandbox = true              every image build sandboxed, as it must be
///     sandbox-fallback = false    fail rather than build unsandboxed
///     extra-sandbox-paths = T /usr /lib /lib64
///                                 the host Swift toolchain T and what it
///                                 loads, for compiling mkportable in the
///                                 sandbox (nix/host-mkportable.nix)
///     substituters =              no binary cache: everything is built here
///
/// Made once per test process, removed when it exits.
enum NixConfig {
    /// The folder, or nil when it could not be made (then Nix reads the
    /// machine's configuration and the tests' own --option arguments).
    static let directory: String? = make()

    static var text: String {
        """
        sandbox = true
        sandbox-fallback = false
        extra-sandbox-paths = \(NixTests.toolchain) /usr /lib /lib64
        substituters =

        """
    }

    nonisolated(unsafe) private static var made: TemporaryDirectory?

    private static func make() -> String? {
        guard let dir = try? TemporaryDirectory(prefix: "mkportable-nix-conf") else { return nil }
        guard (try? Posix.writeFile(dir.sub("nix.conf"), Array(text.utf8))) != nil else {
            dir.remove()
            return nil
        }
        made = dir
        atexit { NixConfig.made?.remove() }
        return dir.path.string
    }
}
