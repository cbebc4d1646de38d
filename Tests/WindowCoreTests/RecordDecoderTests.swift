import Foundation
import Testing
@testable import WindowCore

/// Decodes one line and reads the record's fields back as strings.
struct Decoded {
    var outcome: LineOutcome
    var record: DecodedRecord
    var decoder: RecordDecoder

    init(_ line: String) {
        decoder = RecordDecoder()
        var bytes = Array(line.utf8)
        var d = decoder
        outcome = bytes.withUnsafeMutableBufferPointer { d.decode(UnsafeBufferPointer($0)) }
        decoder = d
        record = d.record
    }

    var diagnostic: Diagnostic? {
        if case .rejected(let d, _) = outcome { return d }
        return nil
    }
    var isRecord: Bool { if case .record = outcome { true } else { false } }
    func text(_ r: ByteRange) -> String { decoder.string(r) }
    var app: String { text(record.app) }
    var contact: String { text(record.contact) }
    var contactID: String { text(record.contactID) }
    var category: String { text(record.category) }
    var conversationID: String { text(record.conversationID) }
}

/// Builders for callback lines.
enum Line {
    static func inbound(app: String = "APP", identity: String? = "46732001122", contactID: String? = "C1",
                        channel: String = "WHATSAPP", time: String = "2024-05-16T09:00:01Z",
                        extra: String = "") -> String {
        var ci = "\"channel\":\"\(channel)\""
        if let identity { ci += ",\"identity\":\"\(identity)\"" }
        var m = "\"channel_identity\":{\(ci)}"
        if let contactID { m += ",\"contact_id\":\"\(contactID)\"" }
        return "{\"app_id\":\"\(app)\",\"event_time\":\"\(time)\",\"message\":{\(m)\(extra)}}"
    }

    static func receipt(app: String = "APP", identity: String = "46732001122", contactID: String = "C1",
                        status: String = "DELIVERED", channel: String = "WHATSAPP",
                        time: String = "2024-05-16T09:00:01Z", metadata: String? = nil) -> String {
        let meta = metadata.map { ",\"message_metadata\":\($0)" } ?? ""
        return "{\"app_id\":\"\(app)\",\"event_time\":\"\(time)\",\"message_delivery_report\":{\"status\":\"\(status)\",\"channel_identity\":{\"channel\":\"\(channel)\",\"identity\":\"\(identity)\"},\"contact_id\":\"\(contactID)\"}\(meta)}"
    }

    /// `message_metadata` as a JSON string holding `object`.
    static func meta(_ object: String) -> String {
        "\"" + object.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

@Suite struct RecordDecoderTests {
    @Test func inbound_readsEveryField() {
        let d = Decoded(Line.inbound(identity: "+46 73 200 11 22", contactID: "01HXCT01"))
        #expect(d.isRecord)
        #expect(d.record.kind == .inbound)
        #expect(d.record.whatsapp)
        #expect(!d.record.injected)
        #expect(d.app == "APP")
        #expect(d.contact == "46732001122")
        #expect(d.contactID == "01HXCT01")
        #expect(d.record.time == Timestamp.parse("2024-05-16T09:00:01Z"))
    }

    @Test func contactKey_removesSpacesThenOneLeadingPlus() {
        #expect(Decoded(Line.inbound(identity: " + 46 7")).contact == "467")
        #expect(Decoded(Line.inbound(identity: "++467")).contact == "+467")
        #expect(Decoded(Line.inbound(identity: "46+7")).contact == "46+7")
    }

    @Test func contactKey_fallsBackToContactIDWhenIdentityIsEmpty() {
        #expect(Decoded(Line.inbound(identity: " + ", contactID: "C9")).contact == "C9")
        #expect(Decoded(Line.inbound(identity: nil, contactID: "C9")).contact == "C9")
        #expect(Decoded(Line.inbound(identity: "", contactID: "")).contact == "")
    }

    @Test func injected_onlyJSONTrueCounts() {
        #expect(Decoded(Line.inbound(extra: ",\"injected\":true")).record.injected)
        #expect(!Decoded(Line.inbound(extra: ",\"injected\":\"true\"")).record.injected)
        #expect(!Decoded(Line.inbound(extra: ",\"injected\":1")).record.injected)
        #expect(!Decoded(Line.inbound(extra: ",\"injected\":false")).record.injected)
    }

    @Test func channel_isMatchedExactly() {
        #expect(!Decoded(Line.inbound(channel: "whatsapp")).record.whatsapp)
        #expect(!Decoded(Line.inbound(channel: "SMS")).record.whatsapp)
        #expect(Decoded(Line.inbound(channel: "WHATS\\u0041PP")).record.whatsapp)
    }

    @Test func eventTime_fallsBackOnlyWhenAbsentOrEmpty() {
        let accepted = "{\"app_id\":\"A\",\"accepted_time\":\"2024-01-01T00:00:00Z\",\"message\":{\"channel_identity\":{\"channel\":\"SMS\"},\"accept_time\":\"2024-02-02T00:00:00Z\"}}"
        #expect(Decoded(accepted).record.time == Timestamp.parse("2024-01-01T00:00:00Z"))
        let acceptOnly = "{\"app_id\":\"A\",\"event_time\":\"\",\"message\":{\"channel_identity\":{\"channel\":\"SMS\"},\"accept_time\":\"2024-02-02T00:00:00Z\"}}"
        #expect(Decoded(acceptOnly).record.time == Timestamp.parse("2024-02-02T00:00:00Z"))
        let nonString = "{\"app_id\":\"A\",\"event_time\":17,\"accepted_time\":\"2024-01-01T00:00:00Z\",\"message\":{\"channel_identity\":{\"channel\":\"SMS\"}}}"
        #expect(Decoded(nonString).record.time == Timestamp.parse("2024-01-01T00:00:00Z"))
        let malformed = "{\"app_id\":\"A\",\"event_time\":\"yesterday\",\"accepted_time\":\"2024-01-01T00:00:00Z\",\"message\":{\"channel_identity\":{\"channel\":\"SMS\"}}}"
        #expect(Decoded(malformed).diagnostic == .badTimestamp)
    }

    @Test func receiptAcceptTime_isNotAnEventTime() {
        let line = "{\"app_id\":\"A\",\"message_delivery_report\":{\"status\":\"READ\",\"channel_identity\":{\"channel\":\"SMS\"},\"accept_time\":\"2024-02-02T00:00:00Z\"}}"
        #expect(Decoded(line).diagnostic == .missingField)
    }

    @Test func duplicateKeys_firstOccurrenceCounts() {
        let line = "{\"app_id\":\"FIRST\",\"app_id\":\"SECOND\",\"event_time\":\"2024-05-16T09:00:01Z\",\"message\":{\"channel_identity\":{\"channel\":\"WHATSAPP\",\"identity\":\"1\",\"identity\":\"2\"}},\"message\":{}}"
        let d = Decoded(line)
        #expect(d.app == "FIRST")
        #expect(d.contact == "1")
        let firstNotString = "{\"app_id\":5,\"app_id\":\"X\",\"event_time\":\"2024-05-16T09:00:01Z\",\"message\":{\"channel_identity\":{\"channel\":\"SMS\"}}}"
        #expect(Decoded(firstNotString).diagnostic == .missingField)
    }

    @Test func kind_messageIsCheckedFirst() {
        let both = "{\"app_id\":\"A\",\"event_time\":\"2024-05-16T09:00:01Z\",\"message_delivery_report\":{\"status\":\"READ\"},\"message\":{\"channel_identity\":{\"channel\":\"SMS\"}}}"
        #expect(Decoded(both).record.kind == .inbound)
    }

    @Test func otherCallbacks_areSkippedWithoutFieldChecks() {
        for key in ["event", "contact_merge_notification", "batch_status_update_notification", "opt_out_notification"] {
            let d = Decoded("{\"\(key)\":{}}")
            if case .skipped = d.outcome {} else { Issue.record("\(key) not skipped: \(d.outcome)") }
        }
    }

    @Test(arguments: [
        ("{\"app_id\":\"A\"", Diagnostic.invalidJSON),
        ("[1,2]", .invalidJSON),
        ("\"just a string\"", .invalidJSON),
        ("{\"a\":1} {}", .invalidJSON),
        ("{\"a\":01}", .invalidJSON),
        ("{\"a\":\"tab\there\"}", .invalidJSON),
        ("{\"a\":\"\\x\"}", .invalidJSON),
        ("{\"a\":[1,]}", .invalidJSON),
        ("{\"a\":tru}", .invalidJSON),
        ("{\"app_id\":\"A\",\"project_id\":\"p\"}", .unknownCallback),
        ("{\"message\":{\"channel_identity\":{\"channel\":\"SMS\"}},\"event_time\":\"2024-05-16T09:00:01Z\"}", .missingField),
        ("{\"app_id\":\"A\",\"message\":{},\"event_time\":\"2024-05-16T09:00:01Z\"}", .missingField),
        ("{\"app_id\":\"A\",\"message\":\"x\",\"event_time\":\"2024-05-16T09:00:01Z\"}", .missingField),
        ("{\"app_id\":\"A\",\"message_delivery_report\":{\"channel_identity\":{\"channel\":\"SMS\"}},\"event_time\":\"2024-05-16T09:00:01Z\"}", .missingField),
        ("{\"app_id\":\"A\",\"message\":{\"channel_identity\":{\"channel\":\"SMS\"}}}", .missingField),
        ("{\"app_id\":\"A\",\"message\":{\"channel_identity\":{\"channel\":\"SMS\"}},\"event_time\":\"2024-05-16\"}", .badTimestamp),
    ] as [(String, Diagnostic)])
    func diagnostics_firstThatApplies(line: String, expected: Diagnostic) {
        #expect(Decoded(line).diagnostic == expected, "\(line)")
    }

    @Test func invalidUTF8_precedesInvalidJSON() {
        var bytes = Array("{\"app_id\":\"A".utf8)
        bytes.append(0xFF)
        var decoder = RecordDecoder()
        let outcome = bytes.withUnsafeBufferPointer { decoder.decode($0) }
        guard case .rejected(let d, _) = outcome else { Issue.record("not rejected"); return }
        #expect(d == .invalidUTF8)
    }

    @Test func missingFieldPrecedesBadTimestamp() {
        let line = "{\"message\":{\"channel_identity\":{\"channel\":\"SMS\"}},\"event_time\":\"garbage\"}"
        #expect(Decoded(line).diagnostic == .missingField)
    }

    @Test func blankLines_areBlank() {
        for line in ["", " ", "\t \r"] {
            if case .blank = Decoded(line).outcome {} else { Issue.record("'\(line)' not blank") }
        }
    }

    @Test func trailingCarriageReturnAndWhitespace_areTolerated() {
        #expect(Decoded(Line.inbound() + "\r").isRecord)
        #expect(Decoded("  " + Line.inbound() + " \t").isRecord)
    }

    @Test func deepNesting_isValidatedWithoutRecursion() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(Decoded("{\"x\":\(deep)," + Line.inbound().dropFirst()).isRecord)
        let unbalanced = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 99_999)
        #expect(Decoded("{\"x\":\(unbalanced)}").diagnostic == .invalidJSON)
    }

    @Test func escapes_areDecodedInFieldsAndKeys() {
        let line = "{\"app\\u005fid\":\"A\\\"B\",\"event_time\":\"2024-05-16T09:00:01Z\",\"message\":{\"channel_identity\":{\"channel\":\"WHATSAPP\",\"identity\":\"\\u002B46 7\"},\"contact_id\":\"\\ud83d\\ude00\"}}"
        let d = Decoded(line)
        #expect(d.app == "A\"B")
        #expect(d.contact == "467")
        #expect(d.contactID == "😀")
        #expect(d.record.time == Timestamp.parse("2024-05-16T09:00:01Z"))
    }

    /// An event time is parsed where it stands in the line, or unescaped first when it has
    /// escapes; a malformed one is quoted unescaped in the detail either way.
    @Test func eventTime_withEscapes_isUnescapedBeforeParsing() {
        let plain = Decoded(Line.inbound(time: "2024-05-16T09:00:01Z")).record.time
        #expect(Decoded(Line.inbound(time: "2024-05-16T09\\u003a00:01Z")).record.time == plain)
        #expect(Decoded(Line.inbound(time: "2024\\u002d05-16T09:00:01\\u005A")).record.time == plain)
        for time in ["2024-05-16T09\\u003a00:61Z", "2024-05-16T09:00:61Z"] {
            let d = Decoded(Line.inbound(time: time))
            #expect(d.diagnostic == .badTimestamp)
            if case .rejected(_, let detail) = d.outcome { #expect(detail.contains("2024-05-16T09:00:61Z"), "\(detail)") }
        }
    }

    // MARK: receipts and metadata

    @Test func receipt_statusesAreMatchedExactly() {
        #expect(Decoded(Line.receipt(status: "DELIVERED")).record.status == .delivered)
        #expect(Decoded(Line.receipt(status: "READ")).record.status == .read)
        #expect(Decoded(Line.receipt(status: "QUEUED_ON_CHANNEL")).record.status == .queuedOnChannel)
        #expect(Decoded(Line.receipt(status: "SWITCHING_CHANNEL")).record.status == .switchingChannel)
        #expect(Decoded(Line.receipt(status: "FAILED")).record.status == .failed)
        #expect(Decoded(Line.receipt(status: "delivered")).record.status == .other)
    }

    @Test func metadata_asStringHoldingJSON() {
        let d = Decoded(Line.receipt(metadata: Line.meta("{\"pricing_category\":\"marketing\",\"whatsapp_conversation_id\":\"abc\",\"pricing_model\":\"pmp\",\"pricing_type\":\"regular\"}")))
        #expect(d.category == "MARKETING")
        #expect(d.conversationID == "abc")
        #expect(d.record.model == .pmp)
        #expect(!d.record.freeEntryPoint)
        #expect(!d.record.badMetadata)
    }

    @Test func metadata_asObject() {
        let d = Decoded(Line.receipt(metadata: "{\"category\":\"utility\",\"conversation_id\":\"x1\",\"pricing_model\":\"CBP\"}"))
        #expect(d.category == "UTILITY")
        #expect(d.conversationID == "x1")
        #expect(d.record.model == .cbp)
    }

    @Test func metadata_emptyAbsentOrNull_meansNoPricing() {
        for meta in [nil, "\"\"", "null", "\"null\""] as [String?] {
            let d = Decoded(Line.receipt(metadata: meta))
            #expect(d.isRecord)
            #expect(!d.record.badMetadata, "\(meta ?? "absent")")
            #expect(d.conversationID.isEmpty)
        }
    }

    @Test func metadata_notAnObject_isBadButTheReceiptStays() {
        for meta in ["\"{broken\"", "\"[1]\"", "42", "[]", "true", "\"\\\"text\\\"\"", "\" \""] {
            let d = Decoded(Line.receipt(metadata: meta))
            #expect(d.isRecord, "\(meta)")
            #expect(d.record.badMetadata, "\(meta)")
            #expect(d.conversationID.isEmpty)
        }
    }

    @Test func metadata_keysAreCaseInsensitiveAndLowerCaseWinsOnCollision() {
        let upperOnly = Decoded(Line.receipt(metadata: Line.meta("{\"Pricing_Category\":\"service\",\"WHATSAPP_CONVERSATION_ID\":\"U\"}")))
        #expect(upperOnly.category == "SERVICE")
        #expect(upperOnly.conversationID == "U")
        let both = Decoded(Line.receipt(metadata: Line.meta("{\"WhatsApp_Conversation_Id\":\"MIXED\",\"whatsapp_conversation_id\":\"LOWER\"}")))
        #expect(both.conversationID == "LOWER")
        let twoMixed = Decoded(Line.receipt(metadata: Line.meta("{\"Category\":\"first\",\"CATEGORY\":\"second\"}")))
        #expect(twoMixed.category == "FIRST")
    }

    @Test func metadata_firstListedKeyWithNonEmptyStringWins() {
        let d = Decoded(Line.receipt(metadata: Line.meta("{\"conversation_id\":\"fallback\",\"whatsapp_conversation_id\":\"\",\"category\":\"utility\",\"pricing_category\":7}")))
        #expect(d.conversationID == "fallback")
        #expect(d.category == "UTILITY")
        let nested = Decoded(Line.receipt(metadata: Line.meta("{\"pricing\":{\"whatsapp_conversation_id\":\"deep\"}}")))
        #expect(nested.conversationID.isEmpty)
    }

    @Test func metadata_pricingModelOtherThanCBPOrPMP_isAbsent() {
        #expect(Decoded(Line.receipt(metadata: Line.meta("{\"pricing_model\":\"per_message\"}"))).record.model == nil)
        #expect(Decoded(Line.receipt(metadata: Line.meta("{\"pricing_model\":\"Cbp\"}"))).record.model == .cbp)
    }

    @Test func freeEntryPoint_byTypeOrCategory() {
        #expect(Decoded(Line.receipt(metadata: Line.meta("{\"type\":\"free_entry_point\"}"))).record.freeEntryPoint)
        #expect(Decoded(Line.receipt(metadata: Line.meta("{\"pricing_type\":\"FREE_ENTRY_POINT\"}"))).record.freeEntryPoint)
        #expect(Decoded(Line.receipt(metadata: Line.meta("{\"pricing_category\":\"FREE_ENTRY_POINT\"}"))).record.freeEntryPoint)
        #expect(Decoded(Line.receipt(metadata: Line.meta("{\"category\":\"referral_conversion\"}"))).record.freeEntryPoint)
        #expect(!Decoded(Line.receipt(metadata: Line.meta("{\"pricing_type\":\"FREE_CUSTOMER_SERVICE\"}"))).record.freeEntryPoint)
    }

    /// A metadata string is read straight from the line when it has the plain shape Sinch
    /// writes; the same object given as an object is always parsed as JSON. Both must agree,
    /// whatever the keys, their case, duplicates, values and spacing.
    @Test func metadata_stringReadStraightAgreesWithTheSameObjectParsed() {
        let names = ["whatsapp_conversation_id", "conversation_id", "pricing_category", "category", "pricing_model",
                     "pricing_type", "type", "pricing", "Category", "PRICING_MODEL", "Type", "whatsapp_conversation_iD"]
        let values = ["\"abc\"", "\"\"", "\"cbp\"", "\"PMP\"", "\"free_entry_point\"", "\"service\"", "\"a b\"",
                      "\"é\"", "7", "null", "{\"category\":\"deep\"}", "[\"x\"]", "\"tab\\tx\"", "\"q\\\"x\""]
        var rng = SplitMix64(seed: 21)
        var straight = 0
        for round in 0..<3_000 {
            let members = (0..<Int(rng.next() % 5)).map { _ in
                "\"" + names[Int(rng.next() % UInt64(names.count))] + "\":" + values[Int(rng.next() % UInt64(values.count))]
            }
            var object = "{" + members.joined(separator: ",") + "}"
            if rng.next() % 8 == 0 { object = " " + object }
            if rng.next() % 8 == 0 { object += " " }
            if rng.next() % 8 == 0 { object = object.replacingOccurrences(of: ":", with: " : ") }
            let asString = Decoded(Line.receipt(metadata: Line.meta(object)))
            let asObject = Decoded(Line.receipt(metadata: object))
            #expect(asString.isRecord && asObject.isRecord)
            #expect(asString.record.badMetadata == asObject.record.badMetadata, "\(round): \(object)")
            #expect(asString.conversationID == asObject.conversationID, "\(round): \(object)")
            #expect(asString.category == asObject.category, "\(round): \(object)")
            #expect(asString.record.model == asObject.record.model, "\(round): \(object)")
            #expect(asString.record.freeEntryPoint == asObject.record.freeEntryPoint, "\(round): \(object)")
            let line = Array(Line.meta(object).utf8)
            let read = line.withUnsafeBufferPointer { b in
                RecordDecoder.plainPricing(b, StringSpan(start: 1, end: b.count - 1, escaped: true)) != nil
            }
            if read { straight += 1 }
        }
        #expect(straight > 300)  // the plain shape was read straight often enough to be tested
    }

    @Test func metadata_plainShapeIsReadStraight() {
        for object in ["{}", "{\"pricing_category\":\"SERVICE\",\"whatsapp_conversation_id\":\"fe9e\"}", "{\"Type\":\"\"}"] {
            let line = Array(Line.meta(object).utf8)
            let read = line.withUnsafeBufferPointer { b in
                RecordDecoder.plainPricing(b, StringSpan(start: 1, end: b.count - 1, escaped: true)) != nil
            }
            #expect(read, "\(object)")
        }
        for object in [" {}", "{} ", "{\"a\":1}", "{\"a\":\"\\n\"}", "{\"a\" :\"b\"}", "{\"a\":\"b\",}", "{\"a\":\"b\"}}", "{"] {
            let line = Array(Line.meta(object).utf8)
            let read = line.withUnsafeBufferPointer { b in
                RecordDecoder.plainPricing(b, StringSpan(start: 1, end: b.count - 1, escaped: true)) != nil
            }
            #expect(!read, "\(object)")
        }
    }

    @Test func category_upperCasingIsUnicodeAware() {
        #expect(Decoded(Line.receipt(metadata: Line.meta("{\"category\":\"straße\"}"))).category == "STRASSE")
    }
}
