import Testing
@testable import WindowCore

/// The link table of SPEC section 12: learned in line order, replaced, kept until the clock
/// passes L + horizon.
@Suite struct IdentityLinksTests {
    static func resolve(_ links: inout IdentityLinks, phone: String = "", user: String = "", at t: Int64,
                        linking: Bool = true, app: String = "APP") -> IdentityLinks.Resolution {
        let a = Array(app.utf8), p = Array(phone.utf8), u = Array(user.utf8)
        return a.withUnsafeBufferPointer { a in
            p.withUnsafeBufferPointer { p in u.withUnsafeBufferPointer { links.resolve(app: a, phone: p, user: $0, at: t, linking: linking) } }
        }
    }

    @Test func anItemWithBothIds_learnsALinkOnce() {
        var links = IdentityLinks(horizon: 100)
        let first = Self.resolve(&links, phone: "46", user: "US.1", at: 10)
        #expect(first.learned && first.user == nil && first.phone == Array("46".utf8) && first.until == 110)
        let again = Self.resolve(&links, phone: "46", user: "US.1", at: 20)
        #expect(!again.learned && again.until == 120)
    }

    @Test func aPhoneAlone_resolvesToItsUserID_andExtendsTheLink() {
        var links = IdentityLinks(horizon: 100)
        _ = Self.resolve(&links, phone: "46", user: "US.1", at: 10)
        let r = Self.resolve(&links, phone: "46", at: 50)
        #expect(r.user == Array("US.1".utf8) && r.phone == Array("46".utf8) && r.until == 150 && !r.learned)
        #expect(Self.resolve(&links, phone: "47", at: 50) == IdentityLinks.Resolution(user: nil))
        #expect(Self.resolve(&links, phone: "46", at: 50, app: "OTHER") == IdentityLinks.Resolution(user: nil))
    }

    @Test func L_countsItemsOfEitherIdSeenBeforeTheLink() {
        var links = IdentityLinks(horizon: 100)
        _ = Self.resolve(&links, user: "US.9", at: 0)  // the stream has shown a user id
        _ = Self.resolve(&links, phone: "46", at: 50)
        let r = Self.resolve(&links, phone: "46", user: "US.1", at: 40)
        #expect(r.learned && r.until == 150)
    }

    @Test func anItemCarryingOnePersonsPhoneAndAnothersUserID_movesBothLinksL() {
        var links = IdentityLinks(horizon: 100)
        _ = Self.resolve(&links, phone: "4601", user: "US.1", at: 10)
        _ = Self.resolve(&links, phone: "4602", user: "US.2", at: 20)
        // A system message links nothing, but it carried both ids.
        let r = Self.resolve(&links, phone: "4601", user: "US.2", at: 50, linking: false)
        #expect(!r.learned && r.until == 150)
        #expect(r.alsoExtended == IdentityLinks.Extended(user: Array("US.1".utf8), phone: Array("4601".utf8), until: 150))
        links.forget(before: 140)
        #expect(links.count == 2)
    }

    @Test func beforeAnyUserID_phonesAreNotTracked() {
        var links = IdentityLinks(horizon: 100)
        _ = Self.resolve(&links, phone: "46", at: 50)
        #expect(!links.active)
        let r = Self.resolve(&links, phone: "46", user: "US.1", at: 40)
        #expect(r.learned && r.until == 140)
    }

    @Test func systemMessages_linkNothing() {
        var links = IdentityLinks(horizon: 100)
        let r = Self.resolve(&links, phone: "46", user: "US.1", at: 10, linking: false)
        #expect(!r.learned && links.isEmpty)
    }

    @Test func aUserIDWithANewPhone_replacesTheOldLinkOfBoth() {
        var links = IdentityLinks(horizon: 100)
        _ = Self.resolve(&links, phone: "46", user: "US.1", at: 10)
        _ = Self.resolve(&links, phone: "47", user: "US.2", at: 10)
        let r = Self.resolve(&links, phone: "47", user: "US.1", at: 20)
        #expect(r.learned && r.phone == Array("47".utf8))
        #expect(Self.resolve(&links, phone: "46", at: 21).user == nil)
        #expect(Self.resolve(&links, user: "US.2", at: 21).phone.isEmpty)
        #expect(links.count == 1)
    }

    @Test func aLink_isForgottenOnceTheClockPassesLPlusHorizon_andLearnedAgain() {
        var links = IdentityLinks(horizon: 100)
        _ = Self.resolve(&links, phone: "46", user: "US.1", at: 10)
        _ = Self.resolve(&links, user: "US.1", at: 30)  // L = 30
        links.forget(before: 130)
        #expect(links.count == 1)  // C has reached L + horizon, not passed it
        links.forget(before: 131)
        #expect(links.isEmpty)
        #expect(Self.resolve(&links, phone: "46", at: 140).user == nil)
        #expect(Self.resolve(&links, phone: "46", user: "US.1", at: 140).learned)
    }

    @Test func forgetting_followsEachLinksOwnL() {
        var links = IdentityLinks(horizon: 100)
        for k in 0..<50 { _ = Self.resolve(&links, phone: "4\(k)", user: "US.\(k)", at: Int64(k)) }
        for k in stride(from: 0, to: 50, by: 2) { _ = Self.resolve(&links, phone: "4\(k)", at: 1_000) }
        links.forget(before: 500)
        #expect(links.count == 25)
        #expect(links.all.allSatisfy { $0.last == 1_000 })
    }
}

@Suite struct StateFileLinksTests {
    @Test func links_roundTripThroughAStateFile_andARestoredTableResolvesThem() throws {
        let links = [IdentityLinks.Link(app: Array("APP".utf8), phone: Array("46".utf8), user: Array("US.1".utf8), last: 1_000),
                     IdentityLinks.Link(app: Array("APP2".utf8), phone: Array("47".utf8), user: Array("BR.ENT.9".utf8), last: 2_000)]
        let file = StateFile(semantics: .init(engine: EngineOptions(), mode: .event, lateness: 0), clock: 500, newest: 2_000,
                             links: links, windows: [])
        let decoded = try StateFile.decode(file.encoded())
        #expect(decoded.links == links)
        var table = IdentityLinks(horizon: 100)
        for l in decoded.links { table.restore(l) }
        #expect(table.link(app: Array("APP".utf8), id: Array("46".utf8))?.user == Array("US.1".utf8))
        #expect(table.link(app: Array("APP2".utf8), id: Array("BR.ENT.9".utf8))?.phone == Array("47".utf8))
        #expect(table.link(app: Array("APP".utf8), id: Array("47".utf8)) == nil)
    }

    @Test func aTruncatedLinkTable_isRefused() {
        let links = [IdentityLinks.Link(app: Array("APP".utf8), phone: Array("46".utf8), user: Array("US.1".utf8), last: 1_000)]
        var bytes = StateFile(semantics: .init(engine: EngineOptions(), mode: .event, lateness: 0), clock: 500, newest: 2_000,
                              links: links, windows: []).encoded()
        // The last bytes (the index checksum) damaged.
        bytes.replaceSubrange(bytes.count - 8..<bytes.count, with: [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(throws: StateFile.LoadError.self) { try StateFile.decode(bytes) }
    }
}
