import Foundation
import Testing
import WindowCore

/// Runs the built `windowkeeper` as a user would: real pipes, real signals, exit codes.
@Suite struct ExecutableTests {
    static var binary: URL { built("windowkeeper") }

    /// An executable of this package, from the build directory the tests run from.
    static func built(_ name: String) -> URL {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [here, here.deletingLastPathComponent(), here.deletingLastPathComponent().deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return repositoryRoot.appendingPathComponent(".build/debug/\(name)")
    }

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var events: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    /// Runs with `input` on standard input (written through a pipe) and waits for the exit.
    static func run(_ arguments: [String], input: String, program: String = "windowkeeper") throws -> Run {
        let process = Process()
        process.executableURL = built(program)
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let writer = Thread {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let errData = LockedData()
        let errReader = Thread { errData.set(stderr.fileHandleForReading.readDataToEndOfFile()) }
        errReader.start()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                   stderr: String(decoding: errData.wait(), as: UTF8.self))
    }

    /// Data handed from a reader thread, waited for without polling.
    final class LockedData: @unchecked Sendable {
        private let ready = DispatchSemaphore(value: 0)
        private var data = Data()
        func set(_ d: Data) { data = d; ready.signal() }
        func wait() -> Data { ready.wait(); return data }
    }

    /// Standard output closed from the start (`| head` that already exited): no crash dump,
    /// status 1, one message, and reading stops instead of consuming the rest of the input
    /// (the input is large: the reader may run some 80 k lines ahead of the shards).
    @Test func closedStandardOutput_endsWithoutACrash_andStopsReading() throws {
        let lines = 250_000
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wk-closed-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let one = Callback.inbound("46700000001", at: 1_700_000_000_000)
        try (Array(repeating: one, count: lines).joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["--clock", "event"]
        process.standardInput = FileHandle(forReadingAtPath: path)
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try stdout.fileHandleForReading.close()
        try process.run()
        let err = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 1)
        #expect(!err.contains("Fatal error"))
        #expect(err.components(separatedBy: "writing events: Broken pipe").count == 2, "\(err)")
        let summary = err.split(separator: "\n").last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let read = (summary?["summary"] as? [String: Any])?["lines"] as? Int
        #expect(read.map { $0 < lines / 2 } == true, "lines read: \(String(describing: read)) of \(lines)")
    }

    @Test func sample_replayGivesTheExpectedFeed() throws {
        let run = try Self.run(["--clock", "event"], input: try Fixtures.text("sample.ndjson"))
        #expect(run.status == 0)
        let expected = try Fixtures.text("sample.expected.ndjson").split(separator: "\n").map(String.init)
        #expect(perContact(run.events) == perContact(expected))
        #expect(run.stderr.contains("{\"summary\":{\"lines\":10,"))
    }

    @Test func badLineInTheMiddle_getsADiagnosticAndTheStreamGoesOn() throws {
        var lines = try Fixtures.text("sample.ndjson").split(separator: "\n").map(String.init)
        lines.insert("{\"app_id\": oops}", at: 3)
        let run = try Self.run(["--clock", "event", "--shards", "3"], input: lines.joined(separator: "\n") + "\n")
        #expect(run.status == 0)
        #expect(run.stderr.contains("{\"diagnostic\":\"invalid_json\",\"line\":4,"))
        let expected = try Fixtures.text("sample.expected.ndjson").split(separator: "\n").map(String.init)
        #expect(perContact(run.events) == perContact(expected))
    }

    @Test func usageErrors_exitTwoWithAHint() throws {
        for args in [["--clock", "sundial"], ["--csw", "forever"], ["--nope"], ["--shards", "0"], ["--until", "2024-01-01T00:00:00Z"]] {
            let run = try Self.run(args, input: "")
            #expect(run.status == 2, "\(args)")
            #expect(run.stderr.contains("--help"), "\(args)")
            // Not at a terminal (a service's log): one JSON line with the time.
            #expect(run.stderr.split(separator: "\n").count == 1, "\(args): \(run.stderr)")
            #expect(run.stderr.hasPrefix("{\"error\":") && run.stderr.contains("\"time\":"), "\(args): \(run.stderr)")
        }
    }

    @Test func version_isOneLine() throws {
        let run = try Self.run(["--version"], input: "")
        #expect(run.status == 0)
        #expect(run.stdout == "windowkeeper \(Version.number)\n")
    }

    /// --state is claimed at start: a missing directory or a directory given as the file
    /// exits 2 with one JSON line, before anything is read.
    @Test func unusableStatePaths_exitTwoAtStart() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wk-claim-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (path, words) in [(dir.appendingPathComponent("missing/s.state").path, "does not exist"), (dir.path, "is a directory")] {
            // No input: the run ends before reading, and a write into its closed pipe would fail.
            let run = try Self.run(["--clock", "event", "--state", path], input: "")
            #expect(run.status == 2, "\(path)")
            #expect(run.stderr.contains(words) && run.stderr.hasPrefix("{\"error\":"), "\(run.stderr)")
            #expect(run.stdout.isEmpty)
        }
    }

    @Test func warnLeadAsLongAsAWindow_isAUsageError() throws {
        for args in [["--warn", "25h"], ["--warn", "24h"], ["--warn", "1h,2h", "--csw", "2h"], ["--warn", "80h", "--csw", "90h", "--conversation", "90h"]] {
            let run = try Self.run(args, input: "")
            #expect(run.status == 2, "\(args)")
            #expect(run.stderr.contains("shorter than each of --csw, --conversation and --fep"), "\(args): \(run.stderr)")
        }
        let byDefault = try Self.run(["--csw", "1h"], input: "")
        #expect(byDefault.status == 2)
        #expect(byDefault.stderr.contains("--warn 1h (the default) must be shorter"), "\(byDefault.stderr)")
        let fine = try Self.run(["--clock", "event", "--warn", "23h59m,0"], input: "")
        #expect(fine.status == 0, "\(fine.stderr)")
    }

    @Test func byteOrderMarkBeforeTheFirstLine_isDropped() throws {
        let run = try Self.run(["--clock", "event"], input: "\u{FEFF}" + Callback.inbound("46700000001", at: 0) + "\n")
        #expect(run.status == 0)
        #expect(run.events.count == 1)
        #expect(!run.stderr.contains("{\"diagnostic\":"), "\(run.stderr)")
    }

    @Test func help_documentsEveryOption() throws {
        let run = try Self.run(["--help"], input: "")
        #expect(run.status == 0)
        for option in ["--clock", "--lateness", "--until", "--horizon", "--max-future", "--csw", "--conversation",
                       "--fep", "--pmp-from", "--warn", "--shards", "--rejects", "--max-line-bytes", "--strict"] {
            #expect(run.stdout.contains(option), "\(option)")
        }
    }

    @Test func strict_exitsThreeAtTheFirstRejectedLine() throws {
        let run = try Self.run(["--clock", "event", "--strict"], input: "{}\n")
        #expect(run.status == 3)
        #expect(run.stderr.contains("unknown_callback"))
    }

    @Test func sigterm_drainsAndExitsZero() throws {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["--clock", "wall", "--csw", "1h", "--warn", "15m"]
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let now = ISO8601DateFormatter().string(from: Date())
        let line = "{\"app_id\":\"A\",\"event_time\":\"\(now)\",\"message\":{\"channel_identity\":{\"channel\":\"WHATSAPP\",\"identity\":\"46\"}}}\n"
        stdin.fileHandleForWriting.write(Data(line.utf8))
        // Standard input stays open: the event must come out anyway, then SIGTERM stops the run.
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("\n") {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
        }
        #expect(String(decoding: seen, as: UTF8.self).contains("\"event\":\"window_opened\""))
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let err = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(err.contains("{\"summary\":"))
        try? stdin.fileHandleForWriting.close()
    }
}
