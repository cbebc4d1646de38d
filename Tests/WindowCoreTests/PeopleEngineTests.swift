import Testing
@testable import WindowCore

/// SPEC section 12 on the engine's side: a phone's windows joined to the user id it is linked
/// to, and the phone on the user id's events while the link lasts.
@Suite struct PeopleEngineTests {
    static func note(_ phone: String, until hours: Double, key: String = "") -> PersonNote {
        PersonNote(key: Array(key.utf8), phone: Array(phone.utf8), until: EngineHarness.h(hours))
    }

    @Test func link_movesThePhonesWindowOverUnchanged_andEmitsOneEvent() {
        var h = EngineHarness(warn: [EngineHarness.hour])
        h.message("46", at: 0)
        _ = h.drain()
        h.link("US.1", phone: "46", at: 2)
        #expect(h.drain() == ["linked US.1 46 @2"])
        #expect(h.engine.contactCount == 1)
        h.clock(23.5)
        h.clock(30)
        #expect(h.drain() == ["expiring cs US.1 [0,24) @23 phone 46", "expired cs US.1 [0,24) @24 phone 46"])
    }

    @Test func link_warningsAlreadySentByThePhone_areNotSentAgain() {
        var h = EngineHarness(warn: [EngineHarness.hour])
        h.message("46", at: 0)
        h.clock(23.5)
        #expect(h.drain() == ["opened cs 46 [0,24) @0", "expiring cs 46 [0,24) @23"])
        h.link("US.1", phone: "46", at: 23.5)
        h.clock(30)
        #expect(h.drain() == ["linked US.1 46 @23.5", "expired cs US.1 [0,24) @24 phone 46"])
    }

    @Test func link_bothHaveCustomerServiceWindows_theUserIDTakesTheLaterExpiry() {
        var h = EngineHarness()
        h.message("US.1", at: 0)
        h.message("46", at: 5)
        _ = h.drain()
        h.link("US.1", phone: "46", at: 6)
        #expect(h.drain() == ["linked US.1 46 @6", "updated cs US.1 [0,29) @6 phone 46"])
        #expect(h.engine.counters.open[Int(WindowKind.customerService.rawValue)] == 1)
        h.clock(40)
        #expect(h.drain() == ["expired cs US.1 [0,29) @29 phone 46"])
    }

    @Test func link_theUserIDsLaterWindow_staysAndNothingIsUpdated() {
        var h = EngineHarness()
        h.message("46", at: 0)
        h.message("US.1", at: 5)
        _ = h.drain()
        h.link("US.1", phone: "46", at: 6)
        #expect(h.drain() == ["linked US.1 46 @6"])
        h.clock(40)
        #expect(h.drain() == ["expired cs US.1 [5,29) @29 phone 46"])
    }

    @Test func link_sameConversationID_keepsTheUserIDs_otherIDsMoveOver() {
        var h = EngineHarness()
        h.conversation("46", "A", at: 0, category: "UTILITY")
        h.conversation("46", "B", at: 1, category: "MARKETING")
        h.conversation("US.1", "A", at: 2, category: "UTILITY")
        _ = h.drain()
        h.link("US.1", phone: "46", at: 3)
        #expect(h.drain() == ["linked US.1 46 @3"])
        h.clock(30)
        #expect(h.drain() == ["expired conv US.1 B [1,25) @25 phone 46", "expired conv US.1 A [2,26) @26 phone 46"])
        // The moved window is still known by its id: a repeat belongs to it.
        h.conversation("US.1", "B", at: 1.5, category: "MARKETING")
        #expect(h.drain().isEmpty)
    }

    @Test func link_bothHaveOpenPMPFreeEntryPoints_theUserIDsStays() {
        var h = EngineHarness()
        h.pmpEntry("46", at: 0)
        h.pmpEntry("US.1", at: 1)
        _ = h.drain()
        h.link("US.1", phone: "46", at: 2)
        h.clock(100)
        #expect(h.drain() == ["linked US.1 46 @2", "expired fep-pmp US.1 [1,73) @73 phone 46"])
    }

    @Test func link_aRememberedPMPFreeEntryPoint_movesBesideTheUserIDsOpenOne() {
        var h = EngineHarness(lateness: 200 * EngineHarness.hour)
        h.pmpEntry("46", at: 0)
        h.clock(80)  // expired at 72, remembered until 144
        h.pmpEntry("US.1", at: 90)
        _ = h.drain()
        h.link("US.1", phone: "46", at: 91)
        #expect(h.engine.counters.remembered == 1)  // the phone's memory, now the user id's
        #expect(h.engine.contactCount == 1)
        h.clock(200)
        #expect(h.drain() == ["linked US.1 46 @91", "expired fep-pmp US.1 [90,162) @162 phone 46"])
    }

    @Test func link_aPhoneWithoutWindows_onlyLinks() {
        var h = EngineHarness()
        h.link("US.1", phone: "46", at: 2)
        #expect(h.drain() == ["linked US.1 46 @2"])
        #expect(h.engine.contactCount == 0)
    }

    @Test func phone_isShownUntilTheLinkIsForgotten_thenNotOnTimersThatFireAfter() {
        var h = EngineHarness(warn: [EngineHarness.hour])
        h.message("US.1", at: 0, person: Self.note("46", until: 23.5))
        #expect(h.drain() == ["opened cs US.1 [0,24) @0 phone 46"])
        h.clock(23.2)
        #expect(h.drain() == ["expiring cs US.1 [0,24) @23 phone 46"])
        h.clock(24)
        #expect(h.drain() == ["expired cs US.1 [0,24) @24"])
    }

    @Test func aRecordOfTheUserIDWithoutAPhone_dropsThePhone() {
        var h = EngineHarness()
        h.message("US.1", at: 0, person: Self.note("46", until: 100))
        h.message("US.1", at: 1)
        #expect(h.drain() == ["opened cs US.1 [0,24) @0 phone 46", "updated cs US.1 [0,25) @1"])
    }

    @Test func aPhoneResolvedToItsUserID_isAppliedUnderTheUserID() {
        var h = EngineHarness()
        h.message("US.1", at: 0, person: Self.note("46", until: 100))
        // The record's decoded contact is the phone; its key is the user id (and its hash the
        // user id's, as routing computed it).
        var arena = Array("APPUS.1".utf8)
        let hash = arena.withUnsafeBufferPointer {
            RoutingHash.contact(app: UnsafeBufferPointer(rebasing: $0[0..<3]), contact: UnsafeBufferPointer(rebasing: $0[3..<7]))
        }
        arena.append(contentsOf: "46".utf8)
        let input = WindowInput(operation: .contactMessage, freeEntryPoint: false, time: EngineHarness.h(2), contactHash: hash,
                                app: ByteRange(start: 0, count: 3), contact: ByteRange(start: 7, count: 2))
        arena.withUnsafeBufferPointer { h.engine.apply(input, in: $0, person: Self.note("46", until: 100, key: "US.1")) }
        #expect(h.drain() == ["opened cs US.1 [0,24) @0 phone 46", "updated cs US.1 [0,26) @2 phone 46"])
        #expect(h.engine.contactCount == 1)
    }
}
