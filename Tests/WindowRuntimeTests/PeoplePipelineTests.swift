import Foundation
import Testing
@testable import WindowCore
@testable import WindowRuntime

/// SPEC section 12 through the whole pipeline: a person who writes first by phone, then with
/// phone and user id, then by user id only has one customer service window throughout,
/// whatever the number of shards; queries by either id answer for the person.
@Suite struct PeoplePipelineTests {
    static let app = "01EB37HMH1M6SV18BSNS3G135H"
    static let t0 = Timestamp.parse("2026-06-01T12:00:00Z")!
    static let hour: Int64 = 3_600_000

    /// A Meta body: one message from `from` and/or `user`, `minutes` after t0.
    static func message(from: String? = nil, user: String? = nil, minutes: Int64) -> String {
        var ids: [String] = []
        if let from { ids.append("\"from\":\"\(from)\"") }
        if let user { ids.append("\"from_user_id\":\"\(user)\"") }
        ids.append("\"id\":\"wamid.\(minutes)\",\"timestamp\":\"\((t0 + minutes * 60_000) / 1_000)\",\"type\":\"text\",\"text\":{\"body\":\"hi\"}")
        return "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":[{\"field\":\"messages\",\"value\":{"
            + "\"metadata\":{\"phone_number_id\":\"\(app)\"},\"messages\":[{" + ids.joined(separator: ",") + "}]}}]}]}"
    }

    static let journey = [message(from: "+46 70 123 45 67", minutes: 0), message(from: "46701234567", user: "US.13491208655302741918", minutes: 60),
                          message(user: "US.13491208655302741918", minutes: 120)]

    static func events(_ lines: [String]) -> [[String: Any]] {
        lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test(arguments: [1, 3])
    func aPersonByPhoneThenBothThenUserID_hasOneCustomerServiceWindow(shards: Int) async throws {
        let (lines, _, status) = try await runPipeline(Self.journey.joined(separator: "\n") + "\n") {
            $0.shards = shards
            $0.until = Self.t0 + 48 * Self.hour
        }
        #expect(status == .ok)
        let all = Self.events(lines)
        let summary = all.map { "\($0["event"]!) \($0["contact"]!) \($0["phone"] ?? "-")" }
        #expect(summary == [
            "window_opened 46701234567 -",
            "contact_linked US.13491208655302741918 46701234567",
            "window_updated US.13491208655302741918 46701234567",
            "window_updated US.13491208655302741918 46701234567",
            "window_expired US.13491208655302741918 46701234567",
        ])
        // The moved window kept its opening; each message moved its expiry.
        #expect(all.last?["opened_at"] as? String == "2026-06-01T12:00:00.000Z")
        #expect(all.last?["expires_at"] as? String == "2026-06-02T14:00:00.000Z")
    }

    @Test func queriesByPhoneOrUserID_answerForThePerson() async throws {
        let run = try await LiveQueryTests.Running({ $0.ingest.mode = .event; $0.shards = 3 }, clock: ManualClock(now: Self.t0))
        for line in Self.journey { run.send(line) }
        await run.waitForEvent("\"window_updated\",\"window\":\"customer_service\",\"app_id\":\"\(Self.app)\",\"contact\":\"US.13491208655302741918\",\"phone\":\"46701234567\",\"opened_at\":\"2026-06-01T12:00:00.000Z\",\"expires_at\":\"2026-06-02T14:00:00.000Z\"")
        for asked in ["%2B46%2070%20123%2045%2067", "46701234567", "US.13491208655302741918", "%20US.13491208655302741918%20"] {
            let answer = try await run.get("/v1/windows?app_id=\(Self.app)&contact=\(asked)")
            #expect(answer.status == 200)
            #expect(answer.body.hasPrefix("{\"app_id\":\"\(Self.app)\",\"contact\":\"US.13491208655302741918\",\"phone\":\"46701234567\",\"as_of\":"), "\(asked)")
            #expect(answer.body.contains("\"open\":true"), "\(asked)")
            let advice = try await run.get("/v1/advice?app_id=\(Self.app)&contact=\(asked)")
            #expect(advice.body.contains("\"contact\":\"US.13491208655302741918\",\"phone\":\"46701234567\""), "\(asked)")
        }
        // Someone else's phone is not the person's.
        let other = try await run.get("/v1/windows?app_id=\(Self.app)&contact=46700000000")
        #expect(other.body.contains("\"contact\":\"46700000000\",\"as_of\"") && other.body.contains("\"open\":false"))
        #expect(await run.finish() == .ok)
    }

    @Test func links_surviveARestart_andAPhoneAloneStillFindsThePerson() async throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("wk-people-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        let first = try await runPipeline(Self.journey.prefix(2).joined(separator: "\n") + "\n") { $0.statePath = state; $0.shards = 2 }
        #expect(first.status == .ok)
        // After the restart, a message by phone alone refreshes the person's window.
        let second = try await runPipeline(Self.message(from: "46701234567", minutes: 180) + "\n") { $0.statePath = state; $0.shards = 3 }
        let all = Self.events(second.events)
        #expect(all.first.map { "\($0["event"]!) \($0["contact"]!) \($0["phone"]!)" } == "window_updated US.13491208655302741918 46701234567")
        let status = try ExecutableTests.run(["status", "--state", state, "--contact", "+46701234567", "--at", "2026-06-01T15:00:00Z"], input: "")
        #expect(status.status == 0)
        #expect(status.stdout.contains("\"contact\":\"US.13491208655302741918\",\"phone\":\"46701234567\""))
        #expect(status.stdout.split(separator: "\n").count == 1, "\(status.stdout)")  // once, though asked by the phone
        let advice = try ExecutableTests.run(["status", "--state", state, "--advice", "--app", Self.app, "--contact", "US.13491208655302741918",
                                              "--at", "2026-06-01T15:00:00Z"], input: "")
        #expect(advice.stdout.contains("\"contact\":\"US.13491208655302741918\",\"phone\":\"46701234567\""))
        #expect(advice.stdout.contains("\"free_form\":{\"allowed\":true"))
    }
}
