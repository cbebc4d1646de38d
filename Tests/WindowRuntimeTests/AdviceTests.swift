import Foundation
import Testing
import WindowCore
@testable import WindowRuntime

/// `/v1/advice`, `status --advice` and `--pricing-eras` (SPEC section 13).
@Suite(.serialized) struct AdviceRuntimeTests {
    typealias Running = LiveQueryTests.Running
    static let t0 = Timestamp.parse("2026-06-01T12:00:00Z")!
    static let hour: Int64 = 3_600_000

    static func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("wk-advice-\(name)-\(UUID().uuidString)").path
    }

    @Test func eventMode_adviceFollowsTheFeed_andAtAsksAnotherInstant() async throws {
        let run = try await Running({ $0.ingest.mode = .event }, clock: ManualClock(now: Self.t0))
        let never = try await run.get("/v1/advice?app_id=APP&contact=46")
        #expect(never.status == 200)
        #expect(never.body.hasPrefix(#"{"app_id":"APP","contact":"46","as_of":null,"era":null,"free_form":{"allowed":false"#))
        run.send(Callback.inbound("46", at: Self.t0))
        await run.waitForEvent("window_opened")
        let open = try await run.get("/v1/advice?app_id=APP&contact=%2B4%206")
        #expect(open.status == 200)
        #expect(open.body.hasPrefix(#"{"app_id":"APP","contact":"46","as_of":"2026-06-01T12:00:00.000Z","era":{"id":"pmp-2025-07","from":"2025-07-01T00:00:00.000Z"},"free_form":{"allowed":true,"until":"2026-06-02T12:00:00.000Z","remaining_s":86400,"because":"customer_service"},"free_entry_point":{"open":false,"until":null},"categories":{"service":{"sendable":true,"cost":"free","#))
        #expect(open.body.contains(#""utility":{"sendable":true,"cost":"free","#))
        #expect(open.body.contains(#""marketing":{"sendable":true,"cost":"charged","#))
        #expect(open.body.hasSuffix(#""next_change":{"at":"2026-06-02T12:00:00.000Z","what":"customer_service window expires"}}"# + "\n"))
        // A free entry point: everything free.
        run.send(Callback.delivered("46", id: "", at: Self.t0 + 1_000, category: "FREE_ENTRY_POINT", model: "PMP"))
        await run.waitForEvent(#""window":"free_entry_point""#)
        let fep = try await run.get("/v1/advice?app_id=APP&contact=46&category=marketing")
        #expect(fep.body.contains(#""free_entry_point":{"open":true,"until":"2026-06-04T12:00:01.000Z"},"categories":{"marketing":{"sendable":true,"cost":"free","#))
        #expect(!fep.body.contains(#""utility""#))
        // at: later, the customer service window has expired, the free entry point has not.
        let later = try await run.get("/v1/advice?app_id=APP&contact=46&at=2026-06-03T00:00:00Z")
        #expect(later.body.contains(#""as_of":"2026-06-03T00:00:00.000Z""#))
        #expect(later.body.contains(#""free_form":{"allowed":false,"until":null,"remaining_s":null,"because":null}"#))
        #expect(later.body.contains(#""next_change":{"at":"2026-06-04T12:00:01.000Z","what":"free_entry_point window expires"}"#))
        // In the next era utility is charged inside the window.
        let october = try await run.get("/v1/advice?app_id=APP&contact=47&at=2026-10-01T00:00:00Z")
        #expect(october.body.contains(#""era":{"id":"pmp-2026-10""#) && october.body.contains(#""service":{"sendable":false,"cost":"free_quota""#))
        #expect(await run.finish() == .ok)
    }

    @Test func badRequests_getA400AndTheStreamGoesOn() async throws {
        let run = try await Running({ $0.ingest.mode = .event }, clock: ManualClock(now: Self.t0))
        for (target, message) in [("/v1/advice?app_id=APP", "missing parameter contact"),
                                  ("/v1/advice?app_id=APP&contact=", "contact is empty"),
                                  ("/v1/advice?app_id=APP&contact=%20%2B", "contact is empty"),
                                  ("/v1/advice?contact=46", "missing parameter app_id (it may be empty: app_id=)"),
                                  ("/v1/advice?app_id=APP&contact=46&at=yesterday", "at 'yesterday' is not an RFC 3339 time"),
                                  ("/v1/advice?app_id=APP&contact=46&at=2026-06-01", "at '2026-06-01' is not an RFC 3339 time"),
                                  ("/v1/advice?app_id=APP&contact=46&category=promo", "category must be service, utility, marketing or authentication, not 'promo'")] {
            let answer = try await run.get(target)
            #expect(answer.status == 400, "\(target)")
            #expect(answer.body == "{\"error\":\"\(message)\"}\n", "\(target)")
        }
        #expect(try await run.get("/v1/advice?app_id=&contact=46").status == 200)
        run.send(Callback.inbound("46", at: Self.t0))
        await run.waitForEvent("window_opened")
        #expect(await run.finish() == .ok)
    }

    /// The live endpoint and `status --advice` on the state written at the same point agree.
    @Test func liveAnswer_equalsStatusAdviceOnTheStateFile() async throws {
        let state = Self.temporary("state")
        defer { try? FileManager.default.removeItem(atPath: state) }
        let run = try await Running({ $0.ingest.mode = .event; $0.statePath = state; $0.checkpointEvery = 0 }, clock: ManualClock(now: Self.t0))
        run.send(Callback.inbound("46 1", at: Self.t0))
        run.send(Callback.delivered("461", id: "", at: Self.t0 + 1_000, category: "REFERRAL_CONVERSION", model: "PMP"))
        run.send(Callback.inbound("99", at: Self.t0 + 2 * Self.hour))
        await run.waitForEvent("ID-99")
        var live: [String] = []
        let instants = ["2026-06-01T13:00:00.250Z", "2026-06-02T11:59:59.999Z", "2026-06-02T12:00:00Z", "2026-10-01T00:00:00Z"]
        for at in instants {
            live.append(try await run.get("/v1/advice?app_id=APP&contact=%2B461&at=\(at)").body)
        }
        #expect(await run.finish() == .ok)
        for (at, answer) in zip(instants, live) {
            let offline = try ExecutableTests.run(["status", "--state", state, "--advice", "--app", "APP", "--contact", "+46 1", "--at", at], input: "")
            #expect(offline.status == 0)
            #expect(offline.stdout == answer, "at \(at)")
        }
        #expect(live[0].contains(#""free_entry_point":{"open":true"#) && live[2].contains(#""allowed":false"#))
    }

    @Test func eraFile_replacesTheDefaultTable_forTheRunAndForStatus() async throws {
        let path = Self.temporary("eras.json")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(#"{"eras":[{"id":"flat","from":"2020-01-01T00:00:00Z","model":"pmp","service":{"inside":"free_quota"},"utility":{"inside":"charged","outside":"charged"},"marketing":{"inside":"free","outside":"charged"},"authentication":{"inside":"charged","outside":"charged"}}]}"#.utf8).write(to: URL(fileURLWithPath: path))
        let options = try #require(try RunOptions.parse(["--pricing-eras", path]))
        #expect(options.eras.eras.map(\.id) == ["flat"])
        #expect(options.eras.era(at: Self.t0)?.rule(.marketing) == CostRule(inside: .free, outside: .charged))
        let status = try #require(try StatusCommand.parse(["--state", "x", "--advice", "--app", "", "--contact", "46", "--pricing-eras", path]))
        #expect(status.eras == options.eras)
        // The live endpoint answers by it.
        let run = try await Running({ $0 = options; $0.shards = 2; $0.listen = .inet(host: "127.0.0.1", port: 0); $0.ingest.mode = .event }, clock: ManualClock(now: Self.t0))
        run.send(Callback.inbound("46", at: Self.t0))
        await run.waitForEvent("window_opened")
        let live = try await run.get("/v1/advice?app_id=APP&contact=46")
        #expect(live.body.contains(#""era":{"id":"flat","from":"2020-01-01T00:00:00.000Z"}"#))
        #expect(live.body.contains(#""service":{"sendable":true,"cost":"free_quota","#) && live.body.contains(#""marketing":{"sendable":true,"cost":"free","#))
        #expect(await run.finish() == .ok)
        // The example file is the default table with a fixed --pmp-from.
        let example = try PricingErasFile.load(ExecutableTests.repositoryRoot.appendingPathComponent("examples/pricing-eras.json").path)
        #expect(example == (try PricingEras.standard()))
    }

    @Test func malformedEraFiles_areUsageErrorsNamingTheProblem() throws {
        let row = #"{"id":"a","from":"2025-07-01T00:00:00Z","model":"pmp","service":{"inside":"free"},"utility":{"inside":"free","outside":"charged"},"marketing":{"inside":"charged","outside":"charged"},"authentication":{"inside":"charged","outside":"charged"}}"#
        func second(_ id: String, _ from: String) -> String { row.replacingOccurrences(of: #""id":"a","from":"2025-07-01T00:00:00Z""#, with: #""id":"\#(id)","from":"\#(from)""#) }
        let cases: [(String, String)] = [
            ("[\(row), \(second("b", "2025-01-01T00:00:00Z"))]", "row 2 (b): from 2025-01-01T00:00:00.000Z is not after row 1 (a)'s 2025-07-01T00:00:00.000Z: rows must be in time order"),
            ("[\(row.replacingOccurrences(of: #""model""#, with: #""until":"2026-01-01T00:00:00Z","model""#)), \(second("b", "2025-12-01T00:00:00Z"))]", "row 2 (b) overlaps row 1 (a), which runs until 2026-01-01T00:00:00.000Z"),
            ("[\(row.replacingOccurrences(of: #""outside":"charged"}}"#, with: #""outside":"pricey"}}"#))]", "row 1: authentication.outside: unknown cost word pricey (free, charged, free_quota)"),
            ("[\(row.replacingOccurrences(of: "2025-07-01T00:00:00Z", with: "2025-07-01"))]", "row 1: from '2025-07-01' is not an RFC 3339 time"),
            ("[\(row.replacingOccurrences(of: #""model":"pmp""#, with: #""model":"ppm""#))]", "row 1: model must be cbp or pmp, not 'ppm'"),
            ("[\(row.replacingOccurrences(of: #""id":"a""#, with: #""id":"a","form":"x""#))]", "row 1: unknown key form (a row has id, from, until, model, service, utility, marketing, authentication)"),
            ("[]", "the table has no rows"),
        ]
        let path = Self.temporary("bad.json")
        defer { try? FileManager.default.removeItem(atPath: path) }
        for (rows, message) in cases {
            try Data("{\"eras\":\(rows)}".utf8).write(to: URL(fileURLWithPath: path))
            #expect(throws: UsageError("--pricing-eras \(path): \(message)")) { try RunOptions.parse(["--pricing-eras", path]) }
        }
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: UsageError("--pricing-eras \(path): not valid JSON")) { try RunOptions.parse(["--pricing-eras", path]) }
        #expect(throws: UsageError("--pricing-eras /nonexistent/eras.json: cannot read the file")) { try RunOptions.parse(["--pricing-eras", "/nonexistent/eras.json"]) }
        // The executable: exit 2, one JSON line (standard error is no terminal here) with the hint.
        let run = try ExecutableTests.run(["--pricing-eras", path], input: "")
        #expect(run.status == 2)
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        #expect(run.stderr.hasPrefix("{\"error\":\"--pricing-eras \(path): not valid JSON\",\"help\":\"windowkeeper --help\",\"time\":"), "\(run.stderr)")
        // A --pmp-from after 2026-10-01 is a run like any other: the first PMP row is never in
        // force, and pmp-2026-10 begins at --pmp-from.
        let late = try ExecutableTests.run(["--pmp-from", "2026-11-01T00:00:00Z", "--clock", "event"], input: "")
        #expect(late.status == 0, "\(late.stderr)")
        let table = try PricingEras.standard(pmpFrom: Timestamp.parse("2026-11-01T00:00:00Z")!)
        #expect(table.eras.map(\.id) == ["cbp-2023-06", "cbp-2024-11", "pmp-2026-10"])
        #expect(table.era(at: Timestamp.parse("2026-10-15T00:00:00Z")!)?.id == "cbp-2024-11")
        #expect(table.era(at: Timestamp.parse("2026-11-01T00:00:00Z")!)?.id == "pmp-2026-10")
    }

    @Test func statusAdvice_optionsAreChecked_andHelpTellsOfThem() throws {
        #expect(throws: UsageError.self) { try StatusCommand.parse(["--state", "x", "--advice", "--contact", "46"]) }
        #expect(throws: UsageError.self) { try StatusCommand.parse(["--state", "x", "--advice", "--app", "A"]) }
        #expect(throws: UsageError.self) { try StatusCommand.parse(["--state", "x", "--advice", "--app", "A", "--contact", "+"]) }
        #expect(throws: UsageError.self) { try StatusCommand.parse(["--state", "x", "--advice", "--app", "A", "--contact", "4", "--window", "conversation"]) }
        #expect(throws: UsageError.self) { try StatusCommand.parse(["--state", "x", "--advice", "--info", "--app", "A", "--contact", "4"]) }
        #expect(throws: UsageError.self) { try StatusCommand.parse(["--state", "x", "--pricing-eras", "/dev/null"]) }
        let q = try #require(try StatusCommand.parse(["--state", "x", "--advice", "--app", "", "--contact", "+46 7", "--at", "2026-01-01T00:00:00Z"]))
        #expect(q.advice && q.app == "" && q.contactGiven == "+46 7" && q.at == Timestamp.parse("2026-01-01T00:00:00Z"))
        #expect(StatusCommand.helpText.contains("--advice") && StatusCommand.helpText.contains("--pricing-eras FILE"))
        #expect(RunOptions.helpText.contains("--pricing-eras FILE") && RunOptions.helpText.contains("/v1/advice"))
    }
}
