import Foundation
import Testing

/// `windowkeeper-sim` as a user meets it first: asking for help.
@Suite struct SimulatorCommandTests {
    @Test func help_inEveryForm_printsUsageAndExitsZero() throws {
        let asks = [["--help"], ["-h"], ["help"], ["generate", "--help"], ["verify", "--help"], ["live", "--help"],
                    ["load", "-h"]]
        for args in asks {
            let run = try ExecutableTests.run(args, input: "", program: "windowkeeper-sim")
            #expect(run.status == 0, "\(args): \(run.stderr)")
            #expect(run.stdout.contains("windowkeeper-sim generate"), "\(args)")
            #expect(!run.stderr.contains("unknown"), "\(args): \(run.stderr)")
        }
    }

    @Test func unknownCommand_isStillAUsageError() throws {
        let run = try ExecutableTests.run(["frobnicate"], input: "", program: "windowkeeper-sim")
        #expect(run.status == 2)
        #expect(run.stderr.contains("unknown command"))
    }
}
