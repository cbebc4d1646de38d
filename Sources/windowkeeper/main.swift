#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WindowCore
import WindowRuntime

System.tuneAllocator()

// Thin executable: parse options, run the pipeline, map the outcome to an exit status.
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments == ["--version"] {
    print(Version.line("windowkeeper"))
    exit(0)
}
do {
    if arguments.first == "status" {
        guard let query = try StatusCommand.parse(Array(arguments.dropFirst())) else {
            print(StatusCommand.helpText)
            exit(0)
        }
        exit(StatusCommand.run(query))
    }
    if arguments.first == "key" {
        guard let options = try KeyCommand.parse(Array(arguments.dropFirst())) else {
            print(KeyCommand.helpText)
            exit(0)
        }
        exit(KeyCommand.run(options))
    }
    guard let options = try RunOptions.parse(arguments) else {
        print(RunOptions.helpText)
        exit(0)
    }
    let status = await Pipeline(options: options).run()
    exit(status.rawValue)
} catch {
    // At a terminal, a person reads it; anywhere else (a service's log) it is one JSON line.
    if isatty(2) != 0 {
        FDWriter(fd: 2).write(Array("windowkeeper: \(error.message)\nTry 'windowkeeper --help' for more information.\n".utf8))
    } else {
        RunLog(errors: FDWriter(fd: 2), clock: SystemWallClock()).say("error", .string(error.message), [("help", .string("windowkeeper --help"))])
    }
    exit(RunStatus.usage.rawValue)
}
