#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Commands

// The executable is a thin main; Sources/Commands holds the logic.
setvbuf(stdout, nil, _IOLBF, 0)
exit(Mkportable.run(arguments: Array(CommandLine.arguments.dropFirst()),
                    environment: Mkportable.processEnvironment()))
