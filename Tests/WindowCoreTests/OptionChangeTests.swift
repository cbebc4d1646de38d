import Testing
@testable import WindowCore

/// `--warn` and the window lengths may change across a restart (docs/contract.md): saved
/// windows keep their times, warnings re-arm by the new leads (those due by the saved clock
/// count as sent), new windows get the new lengths. Time is driven by hand.
@Suite struct OptionChangeTests {
    typealias H = EngineHarness
    static let hour = EngineHarness.hour

    /// Saves `first` through a state file's bytes and restores it into `second`, as a
    /// restart with other options does.
    static func restart(_ first: borrowing EngineHarness, into second: inout EngineHarness) {
        let bytes = StateFile.encode(semantics: .init(engine: first.engine.options, mode: .event, lateness: 0),
                                     clock: first.engine.clock, newest: 0, images: [first.engine.windowImage()]).bytes
        bytes.withUnsafeBufferPointer { b in
            guard let h = try? StateFile.open(b) else { Issue.record("file refused"); return }
            second.engine.restore(file: b, h, shard: 0, of: 1)
        }
    }

    @Test func newWarningLeads_rearmWithoutSendingPastOnesLate() {
        var first = H(warn: [Self.hour])
        first.message("c1", at: 0)
        first.clock(20)
        #expect(first.drain() == ["opened cs c1 [0,24) @0"])
        var second = H(warn: [6 * Self.hour, 2 * Self.hour, Self.hour / 2])
        Self.restart(first, into: &second)
        // The 6h warning was due at 18, before the saved clock (20): not sent at the restart.
        second.clock(20.5)
        #expect(second.drain() == [])
        for t in [22.0, 23.5, 24] { second.clock(t) }
        #expect(second.drain() == ["expiring cs c1 [0,24) @22", "expiring cs c1 [0,24) @23.5", "expired cs c1 [0,24) @24"])
    }

    @Test func aWarningSentUnderTheOldLeads_isNotSentAgain() {
        var first = H(warn: [Self.hour])
        first.message("c1", at: 0)
        first.clock(23.5)
        #expect(first.drain() == ["opened cs c1 [0,24) @0", "expiring cs c1 [0,24) @23"])
        var second = H(warn: [2 * Self.hour, Self.hour / 4])
        Self.restart(first, into: &second)
        for t in [23.75, 24] { second.clock(t) }
        #expect(second.drain() == ["expiring cs c1 [0,24) @23.75", "expired cs c1 [0,24) @24"])
    }

    @Test func sameLeads_keepTheSavedWarningsAsTheyAre() {
        var first = H(warn: [2 * Self.hour, Self.hour])
        first.message("c1", at: 0)
        first.clock(22.5)
        #expect(first.drain() == ["opened cs c1 [0,24) @0", "expiring cs c1 [0,24) @22"])
        var second = H(warn: [2 * Self.hour, Self.hour])
        Self.restart(first, into: &second)
        for t in [23.0, 24] { second.clock(t) }
        #expect(second.drain() == ["expiring cs c1 [0,24) @23", "expired cs c1 [0,24) @24"])
    }

    @Test func newLengths_applyToNewWindowsOnly() {
        var first = H()
        first.message("c1", at: 0)
        first.conversation("c2", "k1", at: 1)
        first.clock(5)
        #expect(first.drain() == ["opened cs c1 [0,24) @0", "opened conv c2 k1 [1,25) @1"])
        var second = H { $0.csw = 2 * Self.hour; $0.conversation = 3 * Self.hour }
        Self.restart(first, into: &second)
        second.message("c3", at: 6)
        second.conversation("c4", "k2", at: 6)
        second.clock(30)
        #expect(second.drain() == ["opened cs c3 [6,8) @6", "opened conv c4 k2 [6,9) @6", "expired cs c3 [6,8) @8",
                                   "expired conv c4 k2 [6,9) @9", "expired cs c1 [0,24) @24", "expired conv c2 k1 [1,25) @25"])
    }

    @Test func warningsDone_countsTheLeadsDueByTheSavedClock() {
        let leads: [Int64] = [6 * Self.hour, 2 * Self.hour, Self.hour]
        #expect(WindowEngine.warningsDone(expires: 24 * Self.hour, leads: leads, clock: 17 * Self.hour) == 0)
        #expect(WindowEngine.warningsDone(expires: 24 * Self.hour, leads: leads, clock: 18 * Self.hour) == 1)
        #expect(WindowEngine.warningsDone(expires: 24 * Self.hour, leads: leads, clock: 23 * Self.hour) == 3)
        #expect(WindowEngine.warningsDone(expires: 24 * Self.hour, leads: leads, clock: .min) == 0)
    }
}
