#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WindowRuntime

#if canImport(Glibc)
// Large per-round buffers are reused by malloc instead of being mapped and zeroed each time.
@_silgen_name("mallopt") func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
_ = mallopt(-3 /* M_MMAP_THRESHOLD */, 256 << 20)
_ = mallopt(-1 /* M_TRIM_THRESHOLD */, 512 << 20)
#endif

// Thin executable: parse options, run the pipeline, map the outcome to an exit status.
let arguments = Array(CommandLine.arguments.dropFirst())
do {
    if arguments.first == "status" {
        exit(StatusCommand.run(try StatusCommand.parse(Array(arguments.dropFirst()))))
    }
    guard let options = try RunOptions.parse(arguments) else {
        print(RunOptions.helpText)
        exit(0)
    }
    let status = await Pipeline(options: options).run()
    exit(status.rawValue)
} catch {
    FDWriter(fd: 2).write(Array("windowkeeper: \(error.message)\nTry 'windowkeeper --help' for more information.\n".utf8))
    exit(RunStatus.usage.rawValue)
}
