import Foundation
import Testing
import WindowCore
@testable import WindowRuntime

/// Meta webhook bodies end to end through the pipeline (SPEC section 11).
@Suite struct WebhookPipelineTests {
    static let metadata = #""messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"}"#
    static func body(_ value: String) -> String {
        #"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"# + metadata + "," + value + #"},"field":"messages"}]}]}"#
    }
    static let referral = body(#""contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"},"referral":{"source_url":"https://fb.me/3cr4Wqqkv","source_id":"120226305854810726","source_type":"ad","body":"Chat with us","headline":"Chat with Kyle's Kites!","media_type":"image","ctwa_clid":"Aff-n8ZTODiE79d22KtAwQKj9e"}}]"#)
    static let cbpDelivered = body(#""statuses":[{"id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA","status":"delivered","timestamp":"1749416500","recipient_id":"16505551234","conversation":{"id":"ebdaa2e9da5d1e0a2c1e6a1ddf26d2f8","expiration_timestamp":"1749502900","origin":{"type":"marketing"}},"pricing":{"billable":true,"pricing_model":"CBP","category":"marketing"}}]"#)
    static let pmpFreeEntry = body(#""statuses":[{"id":"wamid.P","status":"read","timestamp":1750263773,"recipient_id":"16505551234","pricing":{"billable":false,"pricing_model":"PMP","category":"referral_conversion","type":"free_entry_point"}}]"#)

    static let key = "106540352242922|16505551234"

    @Test func realShapedBodies_openAndWarnTheWindowsTheSpecSays() async throws {
        let input = [Self.referral, Self.cbpDelivered, Self.pmpFreeEntry].joined(separator: "\n")
        let result = try await runPipeline(input) { $0.until = Timestamp.parse("2025-06-18T17:00:00Z") }
        let app = #""app_id":"106540352242922","contact":"16505551234""#
        #expect(perContact(result.events)[Self.key] == [
            #"{"event":"window_opened","window":"customer_service","# + app + #","opened_at":"2025-06-08T20:59:43.000Z","expires_at":"2025-06-09T20:59:43.000Z","due_at":"2025-06-08T20:59:43.000Z"}"#,
            #"{"event":"window_opened","window":"conversation","# + app + #","category":"MARKETING","conversation_id":"ebdaa2e9da5d1e0a2c1e6a1ddf26d2f8","opened_at":"2025-06-08T21:01:40.000Z","expires_at":"2025-06-09T21:01:40.000Z","due_at":"2025-06-08T21:01:40.000Z"}"#,
            // The PMP receipt ten days later opens its window (step 3), then its clock expires both (step 5).
            #"{"event":"window_opened","window":"free_entry_point","# + app + #","category":"REFERRAL_CONVERSION","opened_at":"2025-06-18T16:22:53.000Z","expires_at":"2025-06-21T16:22:53.000Z","due_at":"2025-06-18T16:22:53.000Z"}"#,
            #"{"event":"window_expired","window":"customer_service","# + app + #","opened_at":"2025-06-08T20:59:43.000Z","expires_at":"2025-06-09T20:59:43.000Z","due_at":"2025-06-09T20:59:43.000Z"}"#,
            #"{"event":"window_expired","window":"conversation","# + app + #","category":"MARKETING","conversation_id":"ebdaa2e9da5d1e0a2c1e6a1ddf26d2f8","opened_at":"2025-06-08T21:01:40.000Z","expires_at":"2025-06-09T21:01:40.000Z","due_at":"2025-06-09T21:01:40.000Z"}"#,
        ])
    }

    @Test func laterItemsOfOneBody_seeTheClockEarlierItemsMoved() async throws {
        // Items are steps of their own: after the first message the clock is 31 days on, so
        // the second (from the start) is too_late; as one step both would have been applied.
        let line = Self.body(#""messages":[{"from":"222","id":"a","timestamp":"1752094783","type":"text"},{"from":"111","id":"b","timestamp":"1749416383","type":"text"}]"#)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wk-meta-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try await runPipeline(line) { $0.rejectsPath = dir.path }
        #expect(result.events.count == 1 && result.events[0].contains(#""contact":"222""#))
        #expect(result.stderr.contains(#"{"diagnostic":"too_late","line":1,"detail":"entry[0].changes[0].value.messages[1]: event time 2025-06-08T20:59:43.000Z"#))
        #expect(try String(contentsOfFile: dir.path, encoding: .utf8) == line + "\n")
    }

    @Test func sinchAndMetaLines_mixInOneStream_onTheSameContactKey() async throws {
        let sinch = Callback.inbound("+1 650 555 1234", at: Timestamp.parse("2025-06-08T20:00:00Z")!, app: "106540352242922")
        let result = try await runPipeline([sinch, Self.referral].joined(separator: "\n"))
        let app = #""app_id":"106540352242922","contact":"16505551234","contact_id":"ID-+1 650 555 1234""#
        #expect(perContact(result.events)[Self.key] == [
            #"{"event":"window_opened","window":"customer_service","# + app + #","opened_at":"2025-06-08T20:00:00.000Z","expires_at":"2025-06-09T20:00:00.000Z","due_at":"2025-06-08T20:00:00.000Z"}"#,
            #"{"event":"window_updated","window":"customer_service","# + app + #","opened_at":"2025-06-08T20:00:00.000Z","expires_at":"2025-06-09T20:59:43.000Z","due_at":"2025-06-08T20:59:43.000Z"}"#,
        ])
    }

    @Test func hostileBodies_getDiagnostics_andLeaveOtherLinesAlone() async throws {
        let good = Callback.stream(seed: 19, lines: 300, contacts: 8)
        let secondBad = Self.body(#""statuses":[{"id":"a","status":"delivered","timestamp":"1750263773","recipient_id":"16505551234","pricing":{"pricing_model":"PMP","category":"service","type":"free_entry_point"}},{"id":"b","status":7,"timestamp":"1750263774","recipient_id":"16505551234"}]"#)
        let deep = #"{"object":"whatsapp_business_account","entry":["# + String(repeating: "[", count: 2_000) + String(repeating: "]", count: 2_000) + "]}"
        let long = Self.body(#""statuses":[],"padding":""# + String(repeating: "x", count: 5_000) + #"""#)
        let wrongTypes = #"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":1},"messages":[{"from":1,"timestamp":{},"type":[]}],"statuses":[{"status":null,"timestamp":true,"recipient_id":false,"pricing":1,"conversation":"c"}]}}]}]}"#
        let noEntry = #"{"object":"whatsapp_business_account"}"#
        let hostile = [secondBad, deep, long, wrongTypes, noEntry, String(Self.cbpDelivered.dropLast())]
        var mixed: [String] = []
        for (i, line) in good.enumerated() {
            if i % 50 == 0 { mixed.append(hostile[(i / 50) % hostile.count]) }
            mixed.append(line)
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wk-meta-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let clean = try await runPipeline(good.joined(separator: "\n")) { $0.maxLineBytes = 4_096 }
        let dirty = try await runPipeline(mixed.joined(separator: "\n")) {
            $0.maxLineBytes = 4_096
            $0.rejectsPath = dir.path
        }
        var dirtyEvents = perContact(dirty.events)
        // The good first status of `secondBad` opens its window.
        #expect(dirtyEvents.removeValue(forKey: Self.key)?.first?.contains(#""event":"window_opened","window":"free_entry_point""#) == true)
        #expect(dirtyEvents == perContact(clean.events))
        let details = dirty.stderr.split(separator: "\n").filter { $0.hasPrefix("{\"diagnostic\"") }.map {
            String($0.drop { $0 != "," }.dropFirst().drop { $0 != "," }.dropFirst())
        }
        #expect(details == [
            #""detail":"entry[0].changes[0].value.statuses[1]: missing_field: status is not a string"}"#,
            #""detail":"entry[0]: is not an object"}"#,
            #""detail":"line longer than 4096 bytes"}"#,
            #""detail":"entry[0].changes[0].value.messages[0]: value.metadata.phone_number_id is not a string"}"#,
            #""detail":"entry[0].changes[0].value.statuses[0]: value.metadata.phone_number_id is not a string"}"#,
            #""detail":"Meta webhook body without entry"}"#,
        ].map { $0.replacingOccurrences(of: ": missing_field: ", with: ": ") } + [details.last ?? ""])
        #expect(details.last?.hasPrefix(#""detail":"malformed JSON"#) == true)
        let dead = try String(contentsOfFile: dir.path, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(dead == hostile)
        let summaryLine = dirty.stderr.split(separator: "\n").last.map(String.init) ?? ""
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(summaryLine.utf8)) as? [String: Any])["summary"] as? [String: Any]
        #expect(summary?["lines"] as? Int == mixed.count)
        let records = try #require(summary?["records"] as? [String: Any])
        let cleanSummary = clean.stderr.split(separator: "\n").last.map(String.init) ?? ""
        let cleanRecords = try #require((try JSONSerialization.jsonObject(with: Data(cleanSummary.utf8)) as? [String: Any])?["summary"] as? [String: Any])["records"] as? [String: Any]
        #expect(records["total"] as? Int == (cleanRecords?["total"] as? Int).map { $0 + 1 })
    }
}
