import Foundation
import Testing
import WindowCore
@testable import WindowRuntime

/// `--listen` on the in-process pipeline: queries over a real socket, answered by the shard
/// that owns the contact after the batches before them; wall mode on a clock moved by hand.
@Suite(.serialized) struct LiveQueryTests {
    /// A pipeline reading from a pipe the test holds open.
    final class Running: @unchecked Sendable {
        let sink = MemorySink()
        let errPath = FileManager.default.temporaryDirectory.appendingPathComponent("wk-live-\(UUID().uuidString)").path
        let input: FileHandle
        /// Kept: the read end closes when the pipe goes.
        let pipe = Pipe()
        let task: Task<RunStatus, Never>
        var port = 0

        init(_ configure: (inout RunOptions) -> Void, clock: any WallClock) throws {
            input = pipe.fileHandleForWriting
            var options = RunOptions()
            options.shards = 2
            options.listen = .inet(host: "127.0.0.1", port: 0)
            configure(&options)
            let errFD = open(errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            let readFD = pipe.fileHandleForReading.fileDescriptor
            let sink = self.sink
            task = Task { [options] in
                await Pipeline(options: options, input: readFD, output: sink, errors: FDWriter(fd: errFD), clock: clock).run()
            }
            try Self.eventually("the listening line") {
                guard let text = try? String(contentsOfFile: errPath, encoding: .utf8),
                      let r = text.range(of: #"\{"listening":"127\.0\.0\.1:([0-9]+)"\}"#, options: .regularExpression) else { return false }
                port = Int(text[r].split(separator: ":").last!.dropLast(2))!
                return true
            }
        }

        func send(_ line: String) { input.write(Data((line + "\n").utf8)) }

        func finish() async -> RunStatus {
            try? input.close()
            let status = await task.value
            try? FileManager.default.removeItem(atPath: errPath)
            return status
        }

        /// Waits (bounded) until the feed has a line containing `text`.
        func waitForEvent(_ text: String) throws {
            try Self.eventually("an event with \(text)") { sink.lines.contains { $0.contains(text) } }
        }

        /// Polls `condition` until it holds (10 s at most): synchronisation with the pipeline's
        /// threads, not a measure of time.
        static func eventually(_ what: String, _ condition: () -> Bool) throws {
            for _ in 0..<10_000 {
                if condition() { return }
                usleep(1_000)
            }
            throw Failure(what: what)
        }

        struct Failure: Error { var what: String }

        func get(_ target: String, headers: String = "") throws -> (status: Int, body: String) {
            try HTTPClient.get(port: port, target: target, headers: headers)
        }
    }

    static let t0 = Timestamp.parse("2026-06-01T12:00:00Z")!

    @Test func wallMode_openAsSoonAsOpenedIsWritten_closedOnceExpiredIs() async throws {
        let clock = ManualClock(now: Self.t0)
        let run = try Running({ $0.engine.csw = 3_000; $0.engine.conversation = 60_000; $0.engine.fep = 60_000; $0.engine.setWarnLeads([1_000]) }, clock: clock)
        #expect(try run.get("/healthz").status == 200)
        run.send(Callback.inbound("46 70 1", at: Self.t0))
        try run.waitForEvent("window_opened")
        let open = try run.get("/v1/windows?app_id=APP&contact=%2B46%2070%201")
        #expect(open.status == 200)
        #expect(open.body.hasPrefix(#"{"app_id":"APP","contact":"46701","as_of":"2026-06-01T12:00:00.000Z","open":true,"windows":[{"window":"customer_service","contact_id":"ID-46 70 1","opened_at":"2026-06-01T12:00:00.000Z","expires_at":"2026-06-01T12:00:03.000Z","remaining_s":3}]}"#))
        clock.advance(to: Self.t0 + 1_500)
        let later = try run.get("/v1/windows?app_id=APP&contact=46701&window=customer_service")
        #expect(later.body.contains(#""remaining_s":1}"#))
        #expect(try run.get("/v1/windows?app_id=APP&contact=46701&window=conversation").body.contains(#""open":false"#))
        clock.advance(to: Self.t0 + 3_000)
        try run.waitForEvent("window_expired")
        let closed = try run.get("/v1/windows?app_id=APP&contact=46701")
        #expect(closed.body == #"{"app_id":"APP","contact":"46701","as_of":"2026-06-01T12:00:03.000Z","open":false,"windows":[]}"# + "\n")
        #expect(await run.finish() == .ok)
    }

    @Test func eventMode_readsItsWrites_andFilters() async throws {
        let run = try Running({ $0.ingest.mode = .event }, clock: ManualClock(now: Self.t0))
        #expect(try run.get("/v1/windows?app_id=APP&contact=46").body.contains(#""as_of":null,"open":false"#))
        run.send(Callback.inbound("46", at: Self.t0))
        run.send(Callback.delivered("46", id: "conv-9", at: Self.t0 + 1_000, category: "MARKETING", model: "CBP"))
        try run.waitForEvent("conv-9")
        let all = try run.get("/v1/windows?app_id=APP&contact=46")
        #expect(all.body.contains(#""as_of":"2026-06-01T12:00:01.000Z","open":true"#))
        #expect(all.body.contains(#"{"window":"customer_service","contact_id":"ID-46","opened_at":"2026-06-01T12:00:00.000Z","expires_at":"2026-06-02T12:00:00.000Z","remaining_s":86399}"#))
        #expect(all.body.contains(#"{"window":"conversation","category":"MARKETING","conversation_id":"conv-9","opened_at":"2026-06-01T12:00:01.000Z","expires_at":"2026-06-02T12:00:01.000Z","remaining_s":86400}"#))
        let marketing = try run.get("/v1/windows?app_id=APP&contact=46&window=conversation&category=marketing")
        #expect(marketing.body.contains("conv-9") && !marketing.body.contains("customer_service"))
        #expect(try run.get("/v1/windows?app_id=APP&contact=46&category=UTILITY").body.contains(#""open":false"#))
        // A record a day later expires both (event clock): the answer follows the feed.
        run.send(Callback.inbound("47", at: Self.t0 + 90_000_000))
        try run.waitForEvent(#""event":"window_expired","window":"conversation""#)
        #expect(try run.get("/v1/windows?app_id=APP&contact=46").body.contains(#""open":false"#))
        #expect(await run.finish() == .ok)
    }

    @Test func badRequests_getErrorAnswers_andTheStreamGoesOn() async throws {
        let run = try Running({ $0.ingest.mode = .event }, clock: ManualClock(now: Self.t0))
        #expect(try run.get("/nope").status == 404)
        #expect(try run.get("/v1/windows?contact=46").status == 400)
        #expect(try run.get("/v1/windows?app_id=APP").status == 400)
        #expect(try run.get("/v1/windows?app_id=APP&contact=46&window=other").status == 400)
        #expect(try run.get("/v1/windows?app_id=APP&contact=%ZZ").status == 400)
        let post = try HTTPClient.raw(port: run.port, "POST /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(post.hasPrefix("HTTP/1.1 405") && post.contains("Allow: GET, HEAD"))
        let big = try HTTPClient.raw(port: run.port, "GET /healthz HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "a", count: 10_000) + "\r\n\r\n")
        #expect(big.hasPrefix("HTTP/1.1 431"))
        // Pipelined: answers in order on one connection.
        let two = try HTTPClient.raw(port: run.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(two.hasPrefix("HTTP/1.1 200") && two.contains("HTTP/1.1 404"))
        let head = try HTTPClient.raw(port: run.port, "HEAD /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(head.hasPrefix("HTTP/1.1 200") && head.hasSuffix("\r\n\r\n"))
        run.send(Callback.inbound("46", at: Self.t0))
        try run.waitForEvent("window_opened")
        #expect(await run.finish() == .ok)
    }

    @Test func aToken_isRequiredOnEveryRequest() async throws {
        let tokenPath = FileManager.default.temporaryDirectory.appendingPathComponent("wk-token-\(UUID().uuidString)").path
        try "s3cret\nsecond line ignored\n".write(toFile: tokenPath, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: tokenPath) }
        let run = try Running({ $0.ingest.mode = .event; $0.listenTokenPath = tokenPath }, clock: ManualClock(now: Self.t0))
        #expect(try run.get("/healthz").status == 401)
        #expect(try run.get("/healthz", headers: "Authorization: Bearer wrong\r\n").status == 401)
        #expect(try run.get("/healthz", headers: "Authorization: Bearer s3cret\r\n").status == 200)
        #expect(await run.finish() == .ok)
    }
}

/// A minimal blocking HTTP/1.1 client for the tests.
enum HTTPClient {
    static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = UInt16(port).bigEndian
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0 else { close(fd); throw LiveQueryTests.Running.Failure(what: "connect") }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// Sends `request` and reads until the server closes the connection.
    static func raw(port: Int, _ request: String) throws -> String {
        let fd = try connect(port: port)
        defer { close(fd) }
        _ = Array(request.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            all += buffer[0..<n]
        }
        return String(decoding: all, as: UTF8.self)
    }

    static func get(port: Int, target: String, headers: String = "") throws -> (status: Int, body: String) {
        let text = try raw(port: port, "GET \(target) HTTP/1.1\r\nHost: localhost\r\n\(headers)Connection: close\r\n\r\n")
        guard let split = text.range(of: "\r\n\r\n"), let status = Int(text.dropFirst(9).prefix(3)) else {
            throw LiveQueryTests.Running.Failure(what: "an HTTP answer to \(target)")
        }
        return (status, String(text[split.upperBound...]))
    }
}
