import Testing
@testable import WindowCore

/// Meta WhatsApp Cloud API webhook bodies, shaped as Meta's webhook reference for `messages`
/// and `statuses` and published captures write them (pretty-printed there, one line here).
enum MetaBodies {
    static let metadata = #""messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"}"#

    static func body(_ value: String, field: String = "messages") -> String {
        #"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"# + metadata + "," + value
            + #"},"field":""# + field + #""}]}]}"#
    }

    /// An inbound text message from a click-to-WhatsApp ad (with `referral`).
    static let referralMessage = body(#""contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"},"referral":{"source_url":"https://fb.me/3cr4Wqqkv","source_id":"120226305854810726","source_type":"ad","body":"Chat with us","headline":"Chat with Kyle's Kites!","media_type":"image","image_url":"https://scontent.xx.fbcdn.net/v/t45.1600-4/518949649_1396343990.png","ctwa_clid":"Aff-n8ZTODiE79d22KtAwQKj9e_mIEOOj27vDVwFjN80dp4_0NiNhEgpGo0AHemvuSoifXaytfTzcchptiErTKCqTrJ5nW1h7IHYeYymGb5K5J5iXzYa8dqgqhzo3Zi2"}}]"#)

    /// A conversation-based-pricing (CBP) delivered status: `conversation` with
    /// `expiration_timestamp` and `origin.type`, `pricing` with `pricing_model` CBP.
    static let cbpDelivered = body(#""statuses":[{"id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA","status":"delivered","timestamp":"1749416500","recipient_id":"16505551234","conversation":{"id":"ebdaa2e9da5d1e0a2c1e6a1ddf26d2f8","expiration_timestamp":"1749502900","origin":{"type":"marketing"}},"pricing":{"billable":true,"pricing_model":"CBP","category":"marketing"}}]"#)

    /// A per-message-pricing (PMP) delivered status: `pricing.type`, no conversation.
    static let pmpDelivered = body(#""statuses":[{"id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA","status":"delivered","timestamp":"1750263773","recipient_id":"16505551234","pricing":{"billable":false,"pricing_model":"PMP","category":"service","type":"free_entry_point"}}]"#)

    /// A CBP free-entry-point status whose category is only in `conversation.origin.type`.
    static let cbpReferralByOrigin = body(#""statuses":[{"id":"wamid.A","status":"read","timestamp":1749416600,"recipient_id":"16505551234","conversation":{"id":"c0ffee","expiration_timestamp":"1749675800","origin":{"type":"referral_conversion"}},"pricing":{"billable":false,"pricing_model":"CBP"}}]"#)

    /// A `system` message (the user changed number).
    static let systemMessage = body(#""messages":[{"from":"16505551234","id":"wamid.S","system":{"body":"NAME changed from 16505551234 to 16505550000","new_wa_id":"16505550000","type":"user_changed_number"},"timestamp":"1749854575","type":"system"}]"#)

    /// A failed status with Meta's error object.
    static let failed = body(#""statuses":[{"id":"wamid.F","status":"failed","timestamp":"1749416700","recipient_id":"16505551234","errors":[{"code":131026,"title":"Message undeliverable","message":"Message undeliverable","error_data":{"details":"Message Undeliverable."}}]}]"#)
}

/// Decodes one body and reads its items back.
struct DecodedBody {
    var outcome: LineOutcome
    var decoder = RecordDecoder()

    init(_ line: String) {
        var d = RecordDecoder()
        var bytes = Array(line.utf8)
        outcome = bytes.withUnsafeMutableBufferPointer { d.decode(UnsafeBufferPointer($0)) }
        decoder = d
    }

    var items: [WebhookItem] { decoder.items }
    func text(_ r: ByteRange) -> String { decoder.string(r) }
    var records: [DecodedRecord] { items.compactMap { if case .record = $0.outcome { $0.record } else { nil } } }
    /// "path: code: detail" of every rejected item.
    var rejections: [String] {
        items.compactMap {
            if case .rejected(let d, let detail) = $0.outcome { "\($0.path): \(d.code): \(detail)" } else { nil }
        }
    }
    var lineDiagnostic: Diagnostic? { if case .rejected(let d, _) = outcome { d } else { nil } }
}

@Suite struct WebhookDecodingTests {
    @Test func referralMessage_isAContactMessageFromFrom() {
        let b = DecodedBody(MetaBodies.referralMessage)
        guard case .webhook(items: 1) = b.outcome, let r = b.records.first else { Issue.record("\(b.outcome)"); return }
        #expect(r.kind == .inbound && r.whatsapp && !r.injected && !r.system)
        #expect(b.text(r.app) == "106540352242922")
        #expect(b.text(r.contact) == "16505551234")
        #expect(b.text(r.contactID) == "")
        #expect(r.time == Timestamp.parse("2025-06-08T20:59:43Z"))
    }

    @Test func cbpStatus_readsConversationAndPricing() {
        let b = DecodedBody(MetaBodies.cbpDelivered)
        guard let r = b.records.first else { Issue.record("\(b.outcome)"); return }
        #expect(r.kind == .receipt && r.status == .delivered)
        #expect(b.text(r.statusText) == "DELIVERED")
        #expect(b.text(r.contact) == "16505551234")
        #expect(b.text(r.conversationID) == "ebdaa2e9da5d1e0a2c1e6a1ddf26d2f8")
        #expect(b.text(r.category) == "MARKETING")
        #expect(r.model == .cbp && !r.freeEntryPoint && r.hasPricing && !r.badMetadata)
        #expect(r.time == Timestamp.parse("2025-06-08T21:01:40Z"))
    }

    @Test func pmpStatus_readsTypeAndCategory() {
        let b = DecodedBody(MetaBodies.pmpDelivered)
        guard let r = b.records.first else { Issue.record("\(b.outcome)"); return }
        #expect(r.model == .pmp && r.freeEntryPoint)
        #expect(b.text(r.category) == "SERVICE")
        #expect(b.text(r.conversationID) == "")
        #expect(r.time == Timestamp.parse("2025-06-18T16:22:53Z"))
    }

    @Test func originType_isTheCategoryWhenPricingHasNone() {
        let b = DecodedBody(MetaBodies.cbpReferralByOrigin)
        guard let r = b.records.first else { Issue.record("\(b.outcome)"); return }
        #expect(r.status == .read)
        #expect(b.text(r.category) == "REFERRAL_CONVERSION")
        #expect(r.freeEntryPoint && r.model == .cbp)
        #expect(r.time == 1_749_416_600_000)
        // pricing.category wins over origin.type.
        let both = MetaBodies.cbpDelivered.replacingOccurrences(of: #""origin":{"type":"marketing"}"#, with: #""origin":{"type":"referral_conversion"}"#)
        #expect(DecodedBody(both).text(DecodedBody(both).records[0].category) == "MARKETING")
    }

    @Test func systemMessage_isCountedAndMovesTheClockOnly() {
        let b = DecodedBody(MetaBodies.systemMessage)
        guard let r = b.records.first else { Issue.record("\(b.outcome)"); return }
        #expect(r.system && r.injected)
        var ingest = Ingest(options: { var o = IngestOptions(); o.mode = .event; return o }())
        var results: [IngestResult] = []
        _ = Array(MetaBodies.systemMessage.utf8).withUnsafeBufferPointer { ingest.process($0, now: 0) }
        ingest.acceptItems(now: 0) { results.append($1) }
        guard case .record(nil, false)? = results.first else { Issue.record("\(results)"); return }
        #expect(ingest.counters.system == 1 && ingest.counters.records == 1 && ingest.counters.inbound == 0)
        #expect(ingest.clock == Timestamp.parse("2025-06-13T22:42:55Z"))
    }

    @Test func failedAndSentStatuses_areCountedByUpperCasedStatus() {
        var ingest = Ingest(options: { var o = IngestOptions(); o.mode = .event; return o }())
        let sent = MetaBodies.failed.replacingOccurrences(of: #""status":"failed""#, with: #""status":"sent""#)
        for line in [MetaBodies.failed, sent, MetaBodies.failed] {
            _ = Array(line.utf8).withUnsafeBufferPointer { ingest.process($0, now: 0) }
            ingest.acceptItems(now: 0) { _, _ in }
        }
        #expect(ingest.counters.receipts == ["FAILED": 2, "SENT": 1])
        #expect(ingest.counters.lines == 3 && ingest.counters.windowRecords == 0)
    }

    @Test func batchedBody_givesMessagesThenStatusesPerChangeInEntryOrder() {
        let line = #"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":["#
            + #"{"value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"P1"},"statuses":[{"id":"s1","status":"delivered","timestamp":"100","recipient_id":"111"},{"id":"s2","status":"read","timestamp":"101","recipient_id":"112"}],"messages":[{"from":"113","id":"m1","timestamp":"102","type":"text","text":{"body":"hi"}}]},"field":"messages"},"#
            + #"{"value":{"event":"APPROVED","message_template_id":1},"field":"message_template_status_update"}]},"#
            + #"{"id":"2","changes":[{"field":"messages","value":{"messages":[{"from":"+1 14","id":"m2","timestamp":103,"type":"image"}],"metadata":{"phone_number_id":"P2"}}}]}]}"#
        let b = DecodedBody(line)
        #expect(b.items.map(\.path) == ["entry[0].changes[0].value.messages[0]", "entry[0].changes[0].value.statuses[0]",
                                        "entry[0].changes[0].value.statuses[1]", "entry[0].changes[1]",
                                        "entry[1].changes[0].value.messages[0]"])
        #expect(b.records.map { b.text($0.contact) } == ["113", "111", "112", "114"])
        #expect(b.records.map { b.text($0.app) } == ["P1", "P1", "P1", "P2"])
        #expect(b.records.map(\.time) == [102_000, 100_000, 101_000, 103_000])
        guard case .skipped = b.items[3].outcome else { Issue.record("a template change is skipped"); return }
        var ingest = Ingest(options: { var o = IngestOptions(); o.mode = .event; return o }())
        _ = Array(line.utf8).withUnsafeBufferPointer { ingest.process($0, now: 0) }
        ingest.acceptItems(now: 0) { _, _ in }
        #expect(ingest.counters.lines == 1 && ingest.counters.records == 4 && ingest.counters.skipped == 1)
    }

    @Test func secondStatusBad_onlyThatItemIsRejected() {
        let line = MetaBodies.body(#""statuses":[{"id":"a","status":"delivered","timestamp":"1749416500","recipient_id":"16505551234"},{"id":"b","status":"delivered","timestamp":"1749416501"},{"id":"c","status":"read","timestamp":"1749416502","recipient_id":"16505551234"}]"#)
        let b = DecodedBody(line)
        #expect(b.records.count == 3)  // the contact is checked with the clock, in Ingest
        var ingest = Ingest(options: { var o = IngestOptions(); o.mode = .event; return o }())
        var seen: [String] = []
        _ = Array(line.utf8).withUnsafeBufferPointer { ingest.process($0, now: 0) }
        ingest.acceptItems(now: 0) { item, result in
            switch result {
            case .rejected(let d, let detail): seen.append("\(item.path): \(d.code): \(detail)")
            case .record: seen.append("record")
            default: seen.append("other")
            }
        }
        #expect(seen == ["record", "entry[0].changes[0].value.statuses[1]: missing_contact: no recipient_id", "record"])
        #expect(ingest.counters.receipts == ["DELIVERED": 1, "READ": 1])
        #expect(ingest.counters.pricingReceiptsWithoutPricing == 2)
    }

    @Test func timestamps_digitStringsOrIntegersOnly() {
        func item(_ ts: String) -> String {
            MetaBodies.body(#""messages":[{"from":"1","id":"m","timestamp":"# + ts + #","type":"text"}]"#)
        }
        #expect(DecodedBody(item("\"1749416383\"")).records.first?.time == 1_749_416_383_000)
        #expect(DecodedBody(item("1749416383")).records.first?.time == 1_749_416_383_000)
        #expect(DecodedBody(item("\"0\"")).records.first?.time == 0)
        #expect(DecodedBody(item("\"17\\u0034\"")).records.first?.time == 174_000)
        #expect(DecodedBody(item("253402300799")).records.first?.time == 253_402_300_799_000)
        for bad in ["\"\"", "\"17494x\"", "\"-5\"", "-5", "1.5", "1e9", "253402300800", "\"2025-06-08T20:59:43Z\"", "null", "true", "{}", "[1]"] {
            #expect(DecodedBody(item(bad)).rejections.first?.contains("bad_timestamp") == true, "timestamp \(bad)")
        }
        let absent = MetaBodies.body(#""messages":[{"from":"1","id":"m","type":"text"}]"#)
        #expect(DecodedBody(absent).rejections == ["entry[0].changes[0].value.messages[0]: missing_field: no timestamp"])
    }

    @Test func wrongTypes_inEveryField_giveDocumentedDiagnostics() {
        let status = #"{"id":"s","status":"delivered","timestamp":"1","recipient_id":"1"}"#
        func statusWith(_ from: String, _ to: String) -> String {
            MetaBodies.body(#""statuses":["# + status.replacingOccurrences(of: from, with: to) + "]")
        }
        let path = "entry[0].changes[0].value.statuses[0]"
        #expect(DecodedBody(statusWith(#""status":"delivered""#, #""status":9"#)).rejections == ["\(path): missing_field: status is not a string"])
        #expect(DecodedBody(statusWith(#""timestamp":"1""#, #""timestamp":{"s":1}"#)).rejections
            == ["\(path): bad_timestamp: timestamp is neither a string of digits nor an integer"])
        let numericRecipient = DecodedBody(statusWith(#""recipient_id":"1""#, #""recipient_id":16505551234"#))
        #expect(numericRecipient.records.first?.contactNote == .metaRecipientNotString)
        #expect(numericRecipient.records.first?.contact.isEmpty == true)
        let badPricing = DecodedBody(statusWith(#""recipient_id":"1""#, #""recipient_id":"1","pricing":"PMP","conversation":{"id":"c1"}"#))
        #expect(badPricing.records.first?.badMetadata == true)
        #expect(badPricing.records.first.map { badPricing.text($0.conversationID) } == "c1")  // the other field still counts
        let nullPricing = DecodedBody(statusWith(#""recipient_id":"1""#, #""recipient_id":"1","pricing":null,"conversation":null"#))
        #expect(nullPricing.records.first?.badMetadata == false)
        let innerTypes = DecodedBody(statusWith(#""recipient_id":"1""#, #""recipient_id":"1","pricing":{"pricing_model":1,"category":[],"type":{}},"conversation":{"id":7,"origin":"x"}"#))
        #expect(innerTypes.records.first.map { !$0.hasPricing && !$0.badMetadata } == true)
        let message = MetaBodies.body(#""messages":[{"from":4,"id":"m","timestamp":"1","type":5}]"#)
        #expect(DecodedBody(message).records.first?.contactNote == .metaFromNotString)
        #expect(DecodedBody(message).records.first?.system == false)
        let appNumber = MetaBodies.body(#""statuses":["# + status + "]").replacingOccurrences(of: #""phone_number_id":"106540352242922""#, with: #""phone_number_id":106540352242922"#)
        #expect(DecodedBody(appNumber).rejections == ["\(path): missing_field: value.metadata.phone_number_id is not a string"])
        let noMetadata = MetaBodies.body(#""statuses":["# + status + "]").replacingOccurrences(of: MetaBodies.metadata + ",", with: "")
        #expect(DecodedBody(noMetadata).rejections == ["\(path): missing_field: no value.metadata.phone_number_id"])
        // Parts of the body of the wrong type.
        func shape(_ entry: String) -> [String] {
            DecodedBody(#"{"object":"whatsapp_business_account","entry":"# + entry + "}").rejections
        }
        #expect(shape("[7]") == ["entry[0]: missing_field: is not an object"])
        #expect(shape(#"[{"id":"1"}]"#) == ["entry[0]: missing_field: has no changes"])
        #expect(shape(#"[{"changes":{}}]"#) == ["entry[0].changes: missing_field: is not an array"])
        #expect(shape(#"[{"changes":["x"]}]"#) == ["entry[0].changes[0]: missing_field: is not an object"])
        #expect(shape(#"[{"changes":[{"value":{}}]}]"#) == ["entry[0].changes[0]: missing_field: has no field"])
        #expect(shape(#"[{"changes":[{"field":1,"value":{}}]}]"#) == ["entry[0].changes[0]: missing_field: field is not a string"])
        #expect(shape(#"[{"changes":[{"field":"messages"}]}]"#) == ["entry[0].changes[0]: missing_field: has no value"])
        #expect(shape(#"[{"changes":[{"field":"messages","value":[]}]}]"#) == ["entry[0].changes[0].value: missing_field: is not an object"])
        #expect(shape(#"[{"changes":[{"field":"messages","value":{"messages":{},"statuses":"s"}}]}]"#)
            == ["entry[0].changes[0].value.messages: missing_field: is not an array", "entry[0].changes[0].value.statuses: missing_field: is not an array"])
        #expect(shape(#"[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"P"},"statuses":[3,{}]}}]}]"#)
            == ["entry[0].changes[0].value.statuses[0]: missing_field: is not an object", "entry[0].changes[0].value.statuses[1]: missing_field: no status"])
    }

    @Test func wholeLineProblems_getOneDiagnostic() {
        #expect(DecodedBody(#"{"object":"whatsapp_business_account"}"#).lineDiagnostic == .missingField)
        #expect(DecodedBody(#"{"object":"whatsapp_business_account","entry":{}}"#).lineDiagnostic == .missingField)
        #expect(DecodedBody(String(MetaBodies.cbpDelivered.dropLast(2))).lineDiagnostic == .invalidJSON)
        #expect(DecodedBody(MetaBodies.cbpDelivered + "x").lineDiagnostic == .invalidJSON)
        // Another object value, or the key nested: not a Meta body.
        #expect(DecodedBody(#"{"object":"page","entry":[]}"#).lineDiagnostic == .unknownCallback)
        #expect(DecodedBody(#"{"x":{"object":"whatsapp_business_account"},"entry":[]}"#).lineDiagnostic == .unknownCallback)
        // Checked before the Sinch keys; `entry` may come before `object`.
        let both = #"{"entry":[],"message":{},"object":"whatsapp_business_account"}"#
        guard case .webhook(items: 0) = DecodedBody(both).outcome else { Issue.record("Meta first"); return }
    }

    @Test func deepEntryNesting_isOneItemDiagnosticAndNoCrash() {
        let depth = 200_000
        let line = #"{"object":"whatsapp_business_account","entry":["# + String(repeating: "[", count: depth)
            + String(repeating: "]", count: depth) + "]}"
        #expect(DecodedBody(line).rejections == ["entry[0]: missing_field: is not an object"])
        let deepValue = MetaBodies.body(#""statuses":[{"id":"s","status":"read","timestamp":"1","recipient_id":"1","x":"# + String(repeating: "{\"a\":", count: depth)
            + "1" + String(repeating: "}", count: depth) + "}]")
        #expect(DecodedBody(deepValue).records.count == 1)
        let unbalanced = #"{"object":"whatsapp_business_account","entry":["# + String(repeating: "[", count: depth) + "]}"
        #expect(DecodedBody(unbalanced).lineDiagnostic == .invalidJSON)
    }

    @Test func hundredThousandItems_inOneBody_areAllRecords() {
        let n = 100_000
        var items: [String] = []
        items.reserveCapacity(n)
        for i in 0..<n { items.append(#"{"id":"s","status":"sent","timestamp":""# + String(1_749_416_500 + i) + #"","recipient_id":""# + String(i % 97) + #""}"#) }
        let line = MetaBodies.body(#""statuses":["# + items.joined(separator: ",") + "]")
        var ingest = Ingest(options: { var o = IngestOptions(); o.mode = .event; return o }())
        _ = Array(line.utf8).withUnsafeBufferPointer { ingest.process($0, now: 0) }
        var records = 0
        ingest.acceptItems(now: 0) { _, r in if case .record = r { records += 1 } }
        #expect(records == n)
        #expect(ingest.counters.receipts == ["SENT": n] && ingest.counters.lines == 1)
        #expect(ingest.clock == Int64(1_749_416_500 + n - 1) * 1_000)
    }
}
