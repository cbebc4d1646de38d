import Testing
@testable import WindowCore

/// The sequencer's side of SPEC section 12: ids resolved in line order before routing, a link
/// sent between the rounds around it, a phone linked to a user id routed to the user id.
@Suite struct SequencerPeopleTests {
    static let app = "01EB37HMH1M6SV18BSNS3G135H"
    static let base = Timestamp.parse("2024-05-16T09:00:00Z")!

    /// A Meta body with one message from `from` and/or `user` at `seconds` after 09:00.
    static func message(from: String? = nil, user: String? = nil, at seconds: Int64, system: Bool = false) -> String {
        var ids: [String] = []
        if let from { ids.append("\"from\":\"\(from)\"") }
        if let user { ids.append("\"from_user_id\":\"\(user)\"") }
        let type = system ? "\"type\":\"system\",\"system\":{\"body\":\"x\"}" : "\"type\":\"text\",\"text\":{\"body\":\"hi\"}"
        return "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":[{\"field\":\"messages\",\"value\":{"
            + "\"metadata\":{\"phone_number_id\":\"\(app)\"},\"messages\":[{" + (ids + ["\"id\":\"m\",\"timestamp\":\"\(base / 1_000 + seconds)\"", type]).joined(separator: ",")
            + "}]}}]}]}"
    }

    static func shard(of id: String, among shards: Int) -> Int {
        let a = Array(app.utf8), c = Array(id.utf8)
        return RoutingHash.partition(a.withUnsafeBufferPointer { a in c.withUnsafeBufferPointer { RoutingHash.contact(app: a, contact: $0) } }, of: shards)
    }

    /// A phone and a user id on different shards of 4.
    static let apart: (phone: String, user: String) = {
        let phone = "46700000001"
        let user = (1...).lazy.map { "US.\($0)" }.first { shard(of: $0, among: 4) != shard(of: phone, among: 4) }!
        return (phone, user)
    }()

    @Test func aLinkingItem_putsTheLinkAtItsLine_inBothShardsBatches_beforeItsRecord_andTicks() {
        var h = SequencerHarness(shards: 4)
        let (phone, user) = Self.apart
        let p = Self.shard(of: phone, among: 4), u = Self.shard(of: user, among: 4)
        let actions = h.feed([Self.message(from: phone, at: 1), Self.message(from: phone, user: user, at: 1)])
        // Line 1 ends with a tick though C did not move (the joined windows may be due).
        let ticks = "ticks [\"0@09:00:01\", \"1@09:00:01\"]"
        #expect(actions.contains("send \(p): [0] \(ticks) links [\"1:take \(phone)->\(user)\"]"))
        #expect(actions.contains("send \(u): [1] \(ticks) persons [\"0=/\(phone)\"] links [\"1:join \(phone)->\(user)\"]"))
        #expect(h.sequencer.links.count == 1)
    }

    @Test func aPhoneAloneAfterTheLink_goesToTheUserIDsShardUnderItsKey() {
        var h = SequencerHarness(shards: 4)
        let (phone, user) = Self.apart
        let u = Self.shard(of: user, among: 4)
        _ = h.feed([Self.message(from: phone, user: user, at: 1)])
        let actions = h.feed([Self.message(from: phone, at: 2)])
        #expect(actions.contains("send \(u): [0] ticks [\"0@09:00:02\"] persons [\"0=\(user)/\(phone)\"]"))
    }

    @Test func aLinkForgottenPastTheHorizon_routesThePhoneToItselfAgain() {
        var o = Sequencer.Options()
        o.ingest.mode = .event
        o.ingest.horizon = 60_000
        o.shards = 4
        var h = SequencerHarness(shards: 4)
        h.sequencer = Sequencer(options: o)
        let (phone, user) = Self.apart
        let p = Self.shard(of: phone, among: 4)
        _ = h.feed([Self.message(from: phone, user: user, at: 1)])
        _ = h.feed([Self.message(user: "US.other", at: 62)])  // C passes L + horizon: forgotten
        #expect(h.sequencer.links.count == 0)
        let actions = h.feed([Self.message(from: phone, at: 63)])
        #expect(actions.contains("send \(p): [0] ticks [\"0@09:01:03\"]"))
    }

    @Test func systemMessages_andInputWithoutUserIDs_linkNothing() {
        var h = SequencerHarness(shards: 2)
        let actions = h.feed([Self.message(from: "46700000001", user: "US.1", at: 1, system: true), Self.message(from: "46700000002", at: 2)])
        #expect(!actions.contains { $0.hasPrefix("link") })
        #expect(h.sequencer.links.isEmpty)
        var phones = SequencerHarness(shards: 2)
        _ = phones.feed([Self.message(from: "46700000001", at: 1)])
        #expect(!phones.sequencer.links.active)  // nothing is tracked for phone-only input
    }
}
