import Testing
@testable import WindowCore

/// The ids of two kinds a record carries (SPEC section 12): phones and business-scoped user
/// ids (BSUIDs), links from `value.contacts[]`, calls, groups, and the bodies around them.
/// Fixtures are shaped as Meta's and Sinch's documented bodies, written here by hand.
@Suite struct IdentityDecodingTests {
    /// "kind contact phone userID group" of each item, `link`s included, or its rejection.
    static func summary(_ line: String) -> [String] {
        let b = DecodedBody(line)
        return b.items.map { item in
            switch item.outcome {
            case .record:
                let r = item.record
                let kind = r.kind == .link ? "link" : r.call ? (r.injected ? "call" : "userCall") : r.kind == .receipt ? "receipt" : "inbound"
                return "\(kind) \(b.text(r.contact)) \(b.text(r.phone)) \(b.text(r.userID))\(r.group ? " group" : "")"
            case .skipped: return "skipped \(item.path)"
            case .rejected(let d, let detail): return "\(item.path): \(d.code): \(detail)"
            default: return "other"
            }
        }
    }

    /// Each item's result through `Ingest`, in order: "record", "skipped" or "code: detail".
    static func ingested(_ line: String, _ ingest: inout Ingest) -> [String] {
        var seen: [String] = []
        _ = Array(line.utf8).withUnsafeBufferPointer { ingest.process($0, now: 0) }
        ingest.acceptItems(now: 0) { item, result in
            switch result {
            case .rejected(let d, let detail): seen.append("\(item.path): \(d.code): \(detail)")
            case .record(let input, _): seen.append(input == nil ? "counted" : "window")
            case .skipped: seen.append("skipped")
            default: seen.append("other")
            }
        }
        return seen
    }

    static func eventIngest() -> Ingest {
        var o = IngestOptions()
        o.mode = .event
        return Ingest(options: o)
    }

    static func message(_ ids: String, contacts: String? = nil) -> String {
        MetaBodies.body((contacts.map { #""contacts":["# + $0 + "],"} ?? "")
            + #""messages":[{"# + ids + #","id":"wamid.M","timestamp":"1749416383","type":"text","text":{"body":"hi"}}]"#)
    }

    // MARK: Meta messages and statuses

    @Test func messageWithBSUIDOnly_isKeyedByTheBSUID_andNeverMissingContact() {
        let line = Self.message(#""from_user_id":"US.13491208655302741918","from_parent_user_id":"US.ENT.5068""#)
        #expect(Self.summary(line) == ["inbound US.13491208655302741918  US.13491208655302741918"])
        var ingest = Self.eventIngest()
        #expect(Self.ingested(line, &ingest) == ["window"])
    }

    @Test func messageWithPhoneAndBSUID_keysByTheTrimmedBSUID_andCarriesTheNormalisedPhone() {
        let b = DecodedBody(Self.message(#""from":"+1 650 555 1234","from_user_id":"  US.1349abC ""#))
        let r = b.records[0]
        #expect(b.text(r.contact) == "US.1349abC" && b.text(r.phone) == "16505551234" && b.text(r.userID) == "US.1349abC")
        let hash = Array("106540352242922".utf8).withUnsafeBufferPointer { app in
            Array("US.1349abC".utf8).withUnsafeBufferPointer { RoutingHash.contact(app: app, contact: $0) }
        }
        #expect(r.contactHash == hash)
    }

    @Test func phoneOnlyMessage_keepsTheContactItHadBefore() {
        let b = DecodedBody(Self.message(#""from":"+16505551234""#))
        #expect(Self.summary(Self.message(#""from":"+16505551234""#)) == ["inbound 16505551234 16505551234 "])
        #expect(b.records[0].userID.isEmpty && !b.records[0].group)
    }

    @Test func aBSUIDInTheFromField_isNotAlsoAPhone() {
        #expect(Self.summary(Self.message(#""from":"US.1234","from_user_id":"US.1234""#)) == ["inbound US.1234  US.1234"])
    }

    @Test func emptyIds_areNamedAsEmpty_notAsMissing() {
        var ingest = Self.eventIngest()
        #expect(Self.ingested(Self.message(#""from":"","from_user_id":"""#), &ingest)
            == ["entry[0].changes[0].value.messages[0]: missing_contact: from is empty"])
        #expect(Self.ingested(Self.message(#""x":1"#), &ingest) == ["entry[0].changes[0].value.messages[0]: missing_contact: no from"])
        let status = MetaBodies.body(#""statuses":[{"id":"s","status":"sent","timestamp":"1749416383","recipient_id":""}]"#)
        #expect(Self.ingested(status, &ingest) == ["entry[0].changes[0].value.statuses[0]: missing_contact: recipient_id is empty"])
    }

    @Test func statusWithRecipientUserIDOnly_belongsToTheBSUID() {
        let line = MetaBodies.body(#""statuses":[{"id":"s","status":"delivered","timestamp":"1750030073","recipient_id":"","recipient_user_id":"US.9373","parent_recipient_user_id":"US.ENT.1","pricing":{"pricing_model":"PMP","type":"regular","category":"marketing"}}]"#)
        #expect(Self.summary(line) == ["receipt US.9373  US.9373"])
    }

    @Test func messageWithNeitherId_takesTheIdsOfTheChangesOnlyContactsEntry() {
        let one = Self.message(#""id2":"x""#, contacts: #"{"profile":{"name":"N"},"user_id":"BR.77"}"#)
        #expect(Self.summary(one) == ["inbound BR.77  BR.77"])
        let withPhone = Self.message(#""id2":"x""#, contacts: #"{"profile":{"name":"N"},"wa_id":"5511988887777"}"#)
        #expect(Self.summary(withPhone) == ["inbound 5511988887777 5511988887777 "])
        let two = Self.message(#""id2":"x""#, contacts: #"{"wa_id":"1"},{"wa_id":"2"}"#)
        #expect(Self.summary(two) == ["inbound   "])  // missing_contact, decided with the clock
        let own = Self.message(#""from":"3""#, contacts: #"{"wa_id":"1"}"#)
        #expect(Self.summary(own) == ["inbound 3 3 "])
    }

    // MARK: links

    @Test func contactsEntryWithBothIds_isALinkItem_beforeTheChangesItems_atItsFirstMessagesTime() {
        let line = MetaBodies.body(#""contacts":[{"profile":{"name":"A"},"wa_id":"+1 650","user_id":"US.1"},{"wa_id":"2"}],"statuses":[{"id":"s","status":"sent","timestamp":"1749416000","recipient_id":"9"}],"messages":[{"from":"1650","id":"m","timestamp":"x"},{"from":"1650","from_user_id":"US.1","id":"m2","timestamp":"1749416383"}]"#)
        #expect(Self.summary(line) == ["link US.1 1650 US.1", "entry[0].changes[0].value.messages[0]: bad_timestamp: timestamp \"x\" is not Unix seconds",
                                        "inbound US.1 1650 US.1", "receipt 9 9 "])
        let b = DecodedBody(line)
        #expect(b.items[0].path == "entry[0].changes[0].value.contacts[0]" && b.items[0].isLink)
        #expect(b.items[0].record.time == 1_749_416_383_000 && b.text(b.items[0].record.app) == "106540352242922")
        #expect(b.items[0].record.contactHash == b.items[2].record.contactHash)
    }

    @Test func linkItems_areNotRecords_notCounted_andMoveNothing() {
        let line = Self.message(#""from":"1650","from_user_id":"US.1""#, contacts: #"{"wa_id":"1650","user_id":"US.1"}"#)
        var ingest = Self.eventIngest()
        #expect(Self.ingested(line, &ingest) == ["skipped", "window"])
        #expect(ingest.counters.records == 1 && ingest.counters.skipped == 0 && ingest.counters.windowRecords == 1)
    }

    @Test func noLink_fromAnEntryWithOneId_orABodyWithoutApp_butAStatusesOnlyChangeLinks() {
        #expect(Self.summary(Self.message(#""from":"1""#, contacts: #"{"wa_id":"1","user_id":""}"#)) == ["inbound 1 1 "])
        // SPEC 12: contacts[] entries link before any item of their change, statuses too.
        let statusesOnly = MetaBodies.body(#""contacts":[{"wa_id":"1","user_id":"US.1"}],"statuses":[{"id":"s","status":"read","timestamp":"1","recipient_user_id":"US.1"}]"#)
        #expect(Self.summary(statusesOnly) == ["link US.1 1 US.1", "receipt US.1  US.1"])
        let noApp = #"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"contacts":[{"wa_id":"1","user_id":"US.1"}],"messages":[{"from":"1","timestamp":"1"}]}}]}]}"#
        #expect(Self.summary(noApp) == ["entry[0].changes[0].value.messages[0]: missing_field: no value.metadata.phone_number_id"])
    }

    // MARK: calls

    static func calls(_ items: String, statuses: String = "") -> String {
        MetaBodies.body(#""contacts":[{"profile":{"name":"T"},"wa_id":"972987654321","user_id":"US.134"}],"calls":["# + items + "]" + statuses,
                        field: "calls")
    }

    @Test func usersConnectCall_isAContactMessage_otherCallItemsAreCountedAndMoveTheClock() {
        let connect = #"{"id":"wacid.1","from":"972987654321","to":"1631","event":"connect","timestamp":"1752583107","direction":"USER_INITIATED","session":{"sdp_type":"offer"}}"#
        let business = #"{"id":"wacid.2","from":"972987654321","event":"connect","timestamp":"1752583200","direction":"BUSINESS_INITIATED"}"#
        let terminate = #"{"id":"wacid.3","from_user_id":"US.134","event":"terminate","timestamp":"1752583300","direction":"USER_INITIATED","status":"COMPLETED"}"#
        let line = Self.calls([connect, business, terminate].joined(separator: ","))
        #expect(Self.summary(line) == ["link US.134 972987654321 US.134", "userCall 972987654321 972987654321 ",
                                       "call 972987654321 972987654321 ", "call US.134  US.134"])
        var ingest = Self.eventIngest()
        #expect(Self.ingested(line, &ingest) == ["skipped", "window", "counted", "counted"])
        #expect(ingest.counters.calls == 3 && ingest.counters.inbound == 0 && ingest.counters.records == 3)
        #expect(ingest.maxEventTime == 1_752_583_300_000)
    }

    @Test func callWithoutTimestamp_isMissingField_namingTheItem() {
        let line = Self.calls(#"{"id":"wacid.1","from":"1","event":"connect","direction":"USER_INITIATED"}"#)
        #expect(DecodedBody(line).rejections == ["entry[0].changes[0].value.calls[0]: missing_field: no timestamp"])
    }

    @Test func statusesOfACallsChange_areCallItems_andMessagesOfItAreNotRead() {
        let line = MetaBodies.body(#""statuses":[{"id":"wacid.A","timestamp":"1671644824","type":"call","status":"RINGING","recipient_id":"1631"}],"messages":[{"from":"5","timestamp":"1"}]"#,
                                   field: "calls")
        #expect(Self.summary(line) == ["call 1631 1631 "])
        let callsInAMessagesChange = MetaBodies.body(#""calls":[{"from":"5","event":"connect","direction":"USER_INITIATED","timestamp":"1"}]"#)
        #expect(Self.summary(callsInAMessagesChange) == ["skipped entry[0].changes[0]"])
    }

    // MARK: groups

    @Test func groupMessage_belongsToTheGroup_withTheParticipantsIdsForLinking() {
        let line = Self.message(#""from":"5678","from_user_id":"US.56","group_id":"555555555""#, contacts: #"{"wa_id":"5678"}"#)
        #expect(Self.summary(line) == ["inbound group:555555555 5678 US.56 group"])
        var ingest = Self.eventIngest()
        #expect(Self.ingested(line, &ingest) == ["window"])
    }

    @Test func groupStatus_belongsToTheGroupInRecipientID_carriesNoPersonsIds_andWithoutOneIsMissingContact() {
        let status = #"{"id":"wamid.G","status":"read","timestamp":"1698266945","recipient_id":"fowefinoewcnw","recipient_type":"group","recipient_participant_id":"972987654321","recipient_participant_user_id":"US.123456","recipient_participant_parent_user_id":"US.ENT.9"}"#
        // The participant's fields are not a status's ids (SPEC 12: recipient_id, recipient_user_id).
        #expect(Self.summary(MetaBodies.body(#""statuses":["# + status + "]")) == ["receipt group:fowefinoewcnw   group"])
        let noGroup = status.replacingOccurrences(of: #""recipient_id":"fowefinoewcnw","#, with: "")
        var ingest = Self.eventIngest()
        #expect(Self.ingested(MetaBodies.body(#""statuses":["# + noGroup + "]"), &ingest)
            == ["entry[0].changes[0].value.statuses[0]: missing_contact: group status without a group id (recipient_id absent or empty)"])
    }

    // MARK: other bodies

    @Test func messagesChangeHoldingOnlyErrors_isCountedAsSkipped_andMovesNothing() {
        let line = MetaBodies.body(#""contacts":[{"profile":{"name":"K"},"wa_id":"5678"}],"errors":[{"code":0,"title":"We were unable to authenticate the app user"}]"#)
        var ingest = Self.eventIngest()
        #expect(Self.ingested(line, &ingest) == ["skipped"])
        #expect(ingest.counters.skipped == 1 && ingest.counters.records == 0 && ingest.clock == .min)
    }

    // MARK: Sinch

    static func sinchInbound(_ identity: String) -> String {
        #"{"app_id":"A","event_time":"2026-05-01T10:00:00Z","message":{"channel_identity":{"channel":"WHATSAPP","identity":""# + identity
            + #"","app_id":"A"},"contact_id":"C1","contact_message":{"text_message":{"text":"hi"}}}}"#
    }

    @Test func sinchIdentityMatchingThePattern_isABSUID_keyedAsItIs() {
        for bsuid in ["US.13491208655302741918", "US.ENT.506847293015824", "BR.a", " DE.xYz9 ", "US.ENT"] {
            let d = Decoded(Self.sinchInbound(bsuid))
            let trimmed = bsuid.trimmingCharacters(in: [" "])
            #expect(d.contact == trimmed && d.text(d.record.userID) == trimmed && d.record.phone.isEmpty, "\(bsuid)")
        }
    }

    @Test func sinchIdentityBreakingThePattern_isAPhone_normalisedAsBefore() {
        let long = "US." + String(repeating: "1", count: 129)
        for (identity, key) in [("+46 73 200 11 22", "46732001122"), ("us.123", "us.123"), ("USA.1", "USA.1"), ("+US.123", "US.123"),
                                ("US. 123", "US.123"), ("US.12-3", "US.12-3"), ("US.", "US."), ("US.ENT.", "US.ENT."), (long, long)] {
            let d = Decoded(Self.sinchInbound(identity))
            #expect(d.contact == key && d.text(d.record.phone) == key && d.record.userID.isEmpty, "\(identity)")
        }
    }

    @Test func sinchEmptyIdentity_isNamedAsEmpty() {
        let line = #"{"app_id":"A","event_time":"2026-05-01T10:00:00Z","message":{"channel_identity":{"channel":"WHATSAPP","identity":""}}}"#
        var ingest = Self.eventIngest()
        let result = Array(line.utf8).withUnsafeBufferPointer { ingest.process($0, now: 0) }
        guard case .rejected(let d, let detail) = result else { Issue.record("not rejected"); return }
        #expect(d == .missingContact && detail == "channel_identity.identity is empty, and no contact_id")
    }

    @Test func duplicatedContactIdentitiesNotification_isSkippedAndCounted() {
        let line = #"{"app_id":"A","accepted_time":"2020-11-17T16:05:51Z","event_time":"2020-11-17T16:05:45Z","message_metadata":"m","duplicated_contact_identities_notification":{"duplicated_identities":[{"channel":"WHATSAPP","contact_ids":["C1","C2"]}]}}"#
        var ingest = Self.eventIngest()
        let result = Array(line.utf8).withUnsafeBufferPointer { ingest.process($0, now: 0) }
        guard case .skipped = result else { Issue.record("\(result)"); return }
        #expect(ingest.counters.skipped == 1 && ingest.clock == .min)
    }

    @Test func metadataIsReadOnlyOnWhatsAppPricingReceipts() {
        func receipt(_ channel: String, _ status: String) -> String {
            #"{"app_id":"A","event_time":"2026-05-01T10:00:00Z","message_metadata":"order 12345","message_delivery_report":{"status":""#
                + status + #"","channel_identity":{"channel":""# + channel + #"","identity":"46732001122"},"contact_id":"C"}}"#
        }
        #expect(!Decoded(receipt("MESSENGER", "DELIVERED")).record.badMetadata)
        #expect(!Decoded(receipt("WHATSAPP", "QUEUED_ON_CHANNEL")).record.badMetadata)
        #expect(Decoded(receipt("WHATSAPP", "READ")).record.badMetadata)
    }
}
