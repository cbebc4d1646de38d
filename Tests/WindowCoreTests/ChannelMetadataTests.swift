import Testing
@testable import WindowCore

/// `message_metadata` and `channel_metadata` read as one ordered list of keys (SPEC section 2),
/// and the details of fields of the wrong type.
@Suite struct ChannelMetadataTests {
    static func receipt(_ metadata: String?, channel: String?) -> String {
        var line = "{\"app_id\":\"APP\",\"event_time\":\"2024-05-16T09:00:01Z\",\"message_delivery_report\":{\"status\":\"DELIVERED\",\"channel_identity\":{\"channel\":\"WHATSAPP\",\"identity\":\"46732001122\"}}"
        if let metadata { line += ",\"message_metadata\":\(metadata)" }
        if let channel { line += ",\"channel_metadata\":\(channel)" }
        return line + "}"
    }

    @Test func channelMetadataAlone_givesThePricing() {
        let d = Decoded(Self.receipt(nil, channel: Line.meta(#"{"whatsapp_conversation_id":"conv-9","pricing_category":"utility","pricing_model":"CBP"}"#)))
        #expect(d.conversationID == "conv-9")
        #expect(d.category == "UTILITY")
        #expect(d.record.model == .cbp)
        #expect(!d.record.badMetadata)
    }

    @Test func messageMetadataKeysComeFirst_thenChannelMetadataFillsTheRest() {
        let d = Decoded(Self.receipt(Line.meta(#"{"conversation_id":"from-message","pricing_type":""}"#),
                                     channel: #"{"whatsapp_conversation_id":"from-channel","category":"free_entry_point","pricing_type":"REGULAR"}"#))
        // For each meaning message_metadata's keys (both spellings) come before channel_metadata's.
        #expect(d.conversationID == "from-message")
        #expect(d.category == "FREE_ENTRY_POINT")
        #expect(d.record.freeEntryPoint)
        #expect(d.record.hasPricing)
    }

    @Test func badField_isOneBadMetadata_andTheOtherFieldStillCounts() {
        let badFirst = Decoded(Self.receipt("42", channel: Line.meta(#"{"whatsapp_conversation_id":"c1"}"#)))
        #expect(badFirst.record.badMetadata && badFirst.isRecord)
        #expect(badFirst.conversationID == "c1")
        let badSecond = Decoded(Self.receipt(Line.meta(#"{"whatsapp_conversation_id":"c2"}"#), channel: #""not json""#))
        #expect(badSecond.record.badMetadata)
        #expect(badSecond.conversationID == "c2")
        let bothBad = Decoded(Self.receipt("[1]", channel: "true"))
        #expect(bothBad.record.badMetadata && bothBad.conversationID == "" && !bothBad.record.hasPricing)
        // Counted once per line in Ingest, whichever field.
        var ingest = Ingest(options: IngestOptions())
        _ = Array(Self.receipt("[1]", channel: "true").utf8).withUnsafeBufferPointer { ingest.process($0, now: Timestamp.parse("2024-05-16T09:00:01Z")!) }
        #expect(ingest.counters.diagnostics[Diagnostic.badMetadata.rawValue] == 1)
        #expect(ingest.counters.pricingReceiptsWithoutPricing == 1)
    }

    @Test func pricingReceiptsWithoutPricing_areCounted() {
        var ingest = Ingest(options: IngestOptions())
        let now = Timestamp.parse("2024-05-16T09:00:01Z")!
        for line in [Self.receipt(nil, channel: nil), Self.receipt("\"\"", channel: "null"),
                     Self.receipt(Line.meta(#"{"pricing_model":"CBP"}"#), channel: nil),
                     Line.receipt(status: "READ"), Line.receipt(status: "FAILED")] {
            _ = Array(line.utf8).withUnsafeBufferPointer { ingest.process($0, now: now) }
        }
        #expect(ingest.counters.pricingReceiptsWithoutPricing == 3)  // FAILED is not a pricing receipt
    }

    @Test func wrongTypedFields_sayNotAString() {
        func detail(_ line: String) -> String? {
            var ingest = Ingest(options: IngestOptions())
            let result = Array(line.utf8).withUnsafeBufferPointer { ingest.process($0, now: Timestamp.parse("2024-05-16T09:00:01Z")!) }
            if case .rejected(_, let detail) = result { return detail }
            return nil
        }
        let numericIdentity = #"{"app_id":"A","event_time":"2024-05-16T09:00:01Z","message":{"channel_identity":{"channel":"WHATSAPP","identity":46732001122}}}"#
        #expect(detail(numericIdentity) == "channel_identity.identity is not a string, and no contact_id")
        #expect(Decoded(numericIdentity).record.contactNote == .sinchIdentityNotString)
        let numericApp = #"{"app_id":17,"event_time":"2024-05-16T09:00:01Z","message":{"channel_identity":{"channel":"WHATSAPP","identity":"1"}}}"#
        #expect(Decoded(numericApp).diagnostic == .missingField)
        #expect(detail(numericApp) == "app_id is not a string")
        let absentApp = #"{"event_time":"2024-05-16T09:00:01Z","message":{"channel_identity":{"channel":"WHATSAPP","identity":"1"}}}"#
        #expect(detail(absentApp) == "app_id")
        let numericStatus = #"{"app_id":"A","event_time":"2024-05-16T09:00:01Z","message_delivery_report":{"status":3,"channel_identity":{"channel":"WHATSAPP","identity":"1"}}}"#
        #expect(detail(numericStatus) == "message_delivery_report.status is not a string")
        let bothNumbers = #"{"app_id":"A","event_time":"2024-05-16T09:00:01Z","message":{"channel_identity":{"channel":"WHATSAPP","identity":1},"contact_id":2}}"#
        #expect(detail(bothNumbers) == "channel_identity.identity and contact_id are not strings")
        // A wrong-typed identity with a usable contact_id is no problem.
        #expect(Decoded(#"{"app_id":"A","event_time":"2024-05-16T09:00:01Z","message":{"channel_identity":{"channel":"WHATSAPP","identity":1},"contact_id":"C"}}"#).contact == "C")
    }
}
