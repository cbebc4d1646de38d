import Foundation
import Testing
import WindowCore
@testable import WindowRuntime

/// `--listen` on the in-process pipeline: queries over a real socket, answered by the shard
/// that owns the contact after the batches before them; wall mode on a clock moved by hand.
@Suite(.serialized) struct LiveQueryTests {
    /// A pipeline reading from a pipe the test holds open. Everything that blocks (the HTTP
    /// client) runs on threads of its own, never on the pool the shards run on.
    final class Running: @unchecked Sendable {
        let sink = WaitingSink()
        let input: FileHandle
        /// Kept: the read end closes when the pipe goes.
        let pipe = Pipe()
        let errFD: Int32
        var task: Task<RunStatus, Never>?
        var port = 0

        struct Failure: Error { var what: String }

        init(_ configure: (inout RunOptions) -> Void, clock: any WallClock) async throws {
            input = pipe.fileHandleForWriting
            var options = RunOptions()
            options.shards = 2
            options.listen = .inet(host: "127.0.0.1", port: 0)
            configure(&options)
            errFD = open("/dev/null", O_WRONLY)
            let readFD = pipe.fileHandleForReading.fileDescriptor
            let (bound, tell) = AsyncStream<String>.makeStream()
            var pipeline = Pipeline(options: options, input: readFD, output: sink, errors: FDWriter(fd: errFD), clock: clock)
            pipeline.onListening = { tell.yield($0); tell.finish() }
            let run = pipeline
            task = Task { await run.run() }
            var it = bound.makeAsyncIterator()
            guard let address = await it.next(), let p = Int(address.split(separator: ":").last!) else { throw Failure(what: "a port") }
            port = p
        }

        func send(_ line: String) { input.write(Data((line + "\n").utf8)) }

        func finish() async -> RunStatus {
            try? input.close()
            let status = await task!.value
            close(errFD)
            return status
        }

        /// Returns once the feed has a line containing `text`.
        func waitForEvent(_ text: String) async { await sink.waitFor(text) }

        func get(_ target: String, headers: String = "") async throws -> (status: Int, body: String) {
            let port = self.port
            let result = await Pipeline.onThread { Result { try HTTPClient.get(port: port, target: target, headers: headers) } }
            return try result.get()
        }

        func raw(_ request: String) async throws -> String {
            let port = self.port
            return try await Pipeline.onThread { Result { try HTTPClient.raw(port: port, request) } }.get()
        }
    }

    /// A sink whose lines a test can wait for.
    final class WaitingSink: EventSink, @unchecked Sendable {
        private let lock = NSLock()
        private var text = ""
        private var waiters: [(String, CheckedContinuation<Void, Never>)] = []

        func write(_ bytes: UnsafeRawBufferPointer) {
            lock.lock()
            text += String(decoding: bytes, as: UTF8.self)
            let ready = waiters.filter { text.contains($0.0) }
            waiters.removeAll { text.contains($0.0) }
            lock.unlock()
            for (_, c) in ready { c.resume() }
        }

        func waitFor(_ needle: String) async {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                lock.lock()
                if text.contains(needle) {
                    lock.unlock()
                    c.resume()
                    return
                }
                waiters.append((needle, c))
                lock.unlock()
            }
        }
    }

    static let t0 = Timestamp.parse("2026-06-01T12:00:00Z")!

    @Test func wallMode_openAsSoonAsOpenedIsWritten_closedOnceExpiredIs() async throws {
        let clock = ManualClock(now: Self.t0)
        let run = try await Running({ $0.engine.csw = 3_000; $0.engine.conversation = 60_000; $0.engine.fep = 60_000; $0.engine.setWarnLeads([1_000]) }, clock: clock)
        #expect(try await run.get("/healthz").status == 200)
        run.send(Callback.inbound("46 70 1", at: Self.t0))
        await run.waitForEvent("window_opened")
        let open = try await run.get("/v1/windows?app_id=APP&contact=%2B46%2070%201")
        #expect(open.status == 200)
        #expect(open.body.hasPrefix(#"{"app_id":"APP","contact":"46701","as_of":"2026-06-01T12:00:00.000Z","open":true,"windows":[{"window":"customer_service","contact_id":"ID-46 70 1","opened_at":"2026-06-01T12:00:00.000Z","expires_at":"2026-06-01T12:00:03.000Z","remaining_s":3}]}"#))
        clock.advance(to: Self.t0 + 1_500)
        let later = try await run.get("/v1/windows?app_id=APP&contact=46701&window=customer_service")
        #expect(later.body.contains(#""remaining_s":1}"#))
        #expect(try await run.get("/v1/windows?app_id=APP&contact=46701&window=conversation").body.contains(#""open":false"#))
        clock.advance(to: Self.t0 + 3_000)
        await run.waitForEvent("window_expired")
        let closed = try await run.get("/v1/windows?app_id=APP&contact=46701")
        #expect(closed.body == #"{"app_id":"APP","contact":"46701","as_of":"2026-06-01T12:00:03.000Z","open":false,"windows":[]}"# + "\n")
        #expect(await run.finish() == .ok)
    }

    @Test func eventMode_readsItsWrites_andFilters() async throws {
        let run = try await Running({ $0.ingest.mode = .event }, clock: ManualClock(now: Self.t0))
        #expect(try await run.get("/v1/windows?app_id=APP&contact=46").body.contains(#""as_of":null,"open":false"#))
        run.send(Callback.inbound("46", at: Self.t0))
        run.send(Callback.delivered("46", id: "conv-9", at: Self.t0 + 1_000, category: "MARKETING", model: "CBP"))
        await run.waitForEvent("conv-9")
        let all = try await run.get("/v1/windows?app_id=APP&contact=46")
        #expect(all.body.contains(#""as_of":"2026-06-01T12:00:01.000Z","open":true"#))
        #expect(all.body.contains(#"{"window":"customer_service","contact_id":"ID-46","opened_at":"2026-06-01T12:00:00.000Z","expires_at":"2026-06-02T12:00:00.000Z","remaining_s":86399}"#))
        #expect(all.body.contains(#"{"window":"conversation","category":"MARKETING","conversation_id":"conv-9","opened_at":"2026-06-01T12:00:01.000Z","expires_at":"2026-06-02T12:00:01.000Z","remaining_s":86400}"#))
        let marketing = try await run.get("/v1/windows?app_id=APP&contact=46&window=conversation&category=marketing")
        #expect(marketing.body.contains("conv-9") && !marketing.body.contains("customer_service"))
        #expect(try await run.get("/v1/windows?app_id=APP&contact=46&category=UTILITY").body.contains(#""open":false"#))
        // A record a day later expires both (event clock): the answer follows the feed.
        run.send(Callback.inbound("47", at: Self.t0 + 90_000_000))
        await run.waitForEvent(#""event":"window_expired","window":"conversation""#)
        #expect(try await run.get("/v1/windows?app_id=APP&contact=46").body.contains(#""open":false"#))
        #expect(await run.finish() == .ok)
    }

    @Test func badRequests_getErrorAnswers_andTheStreamGoesOn() async throws {
        let run = try await Running({ $0.ingest.mode = .event }, clock: ManualClock(now: Self.t0))
        #expect(try await run.get("/nope").status == 404)
        #expect(try await run.get("/v1/windows?contact=46").status == 400)
        #expect(try await run.get("/v1/windows?app_id=APP").status == 400)
        #expect(try await run.get("/v1/windows?app_id=APP&contact=46&window=other").status == 400)
        #expect(try await run.get("/v1/windows?app_id=APP&contact=%ZZ").status == 400)
        let post = try await run.raw("POST /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(post.hasPrefix("HTTP/1.1 405") && post.contains("Allow: GET, HEAD"))
        let big = try await run.raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "a", count: 10_000) + "\r\n\r\n")
        #expect(big.hasPrefix("HTTP/1.1 431"))
        // Pipelined: answers in order on one connection.
        let two = try await run.raw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(two.hasPrefix("HTTP/1.1 200") && two.contains("HTTP/1.1 404"))
        // More pipelined requests than are read ahead at once: all answered, in order.
        let many = String(repeating: "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", count: 40) + "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        let answers = try await run.raw(many)
        #expect(answers.components(separatedBy: "HTTP/1.1 200 OK").count - 1 == 40)
        #expect(answers.hasSuffix(#"{"error":"no such path: /nope"}"# + "\n"))
        let head = try await run.raw("HEAD /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(head.hasPrefix("HTTP/1.1 200") && head.hasSuffix("\r\n\r\n"))
        run.send(Callback.inbound("46", at: Self.t0))
        await run.waitForEvent("window_opened")
        #expect(await run.finish() == .ok)
    }

    @Test func aToken_isRequiredOnEveryRequest() async throws {
        let tokenPath = FileManager.default.temporaryDirectory.appendingPathComponent("wk-token-\(UUID().uuidString)").path
        try "s3cret\nsecond line ignored\n".write(toFile: tokenPath, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: tokenPath) }
        let run = try await Running({ $0.ingest.mode = .event; $0.listenTokenPath = tokenPath }, clock: ManualClock(now: Self.t0))
        #expect(try await run.get("/healthz").status == 401)
        #expect(try await run.get("/healthz", headers: "Authorization: Bearer wrong\r\n").status == 401)
        #expect(try await run.get("/healthz", headers: "Authorization: Bearer s3cret\r\n").status == 200)
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
        var tv = timeval(tv_sec: 120, tv_usec: 0)  // generous: other suites may hold the pool meanwhile
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
