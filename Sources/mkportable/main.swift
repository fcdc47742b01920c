#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Commands
import SystemIO

// The executable is a thin main; Sources/Commands holds the logic.
// Process-wide malloc policy, before any thread or large allocation (see
// `Posix.fixMallocThresholds`).
Posix.fixMallocThresholds()
setvbuf(stdout, nil, _IOLBF, 0)
exit(Mkportable.run(arguments: Array(CommandLine.arguments.dropFirst()),
                    environment: Mkportable.processEnvironment()))
