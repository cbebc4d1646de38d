#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization
import WindowCore

/// An answer to one request.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
    public var contentType: String
    public var headers: [(String, String)]

    public init(status: Int, body: [UInt8], contentType: String = "application/json", headers: [(String, String)] = []) {
        self.status = status
        self.body = body
        self.contentType = contentType
        self.headers = headers
    }

    /// `{"error":"…"}`
    public static func error(_ status: Int, _ message: String, headers: [(String, String)] = []) -> HTTPResponse {
        var out = ByteBuffer(capacity: 64 + message.utf8.count)
        out.append("{\"error\":")
        EventEncoder.appendString(message, &out)
        out.append("}\n")
        return HTTPResponse(status: status, body: out.array, headers: headers)
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 431: "Request Header Fields Too Large"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status"
        }
    }

    /// The whole response as it goes on the wire (HEAD: the head only).
    func serialized(keepAlive: Bool, head: Bool) -> [UInt8] {
        var text = "HTTP/1.1 \(status) \(Self.reason(status))\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += keepAlive ? "\r\n" : "Connection: close\r\n\r\n"
        var out = Array(text.utf8)
        if !head { out += body }
        return out
    }
}

/// A small, strict HTTP/1.1 server on one thread of its own: `poll` over the listening
/// socket and every connection, non-blocking I/O, answers in request order (pipelining),
/// keep-alive. Bounded in every dimension: request heads of 8 KiB, `maxConnections`
/// connections (more are closed at accept), a few requests in flight per connection, and a
/// connection idle, or stuck in the middle of a request or of an answer, for `timeout` ms
/// is closed. Requests are answered by `handler`, possibly later and from another thread;
/// a slow client never holds up the handler or other clients.
/// Unchecked: connection state lives on the poll thread alone; answers from other threads
/// reach it only through `arrived` (a `Mutex`) and the wake pipe.
public final class HTTPServer: @unchecked Sendable {
    public typealias Handler = @Sendable (HTTPRequest, _ reply: @escaping @Sendable (HTTPResponse) -> Void) -> Void

    public static let maxConnections = 256
    /// Requests read ahead of their answers on one connection.
    static let maxPipelined = 16
    /// Unsent answer bytes on one connection before it is read no further.
    static let maxPendingOutput = 256 * 1024

    private let listener: Int32
    private let handler: Handler
    private let token: [UInt8]?
    private let timeout: Int64
    private let now: @Sendable () -> Int64
    /// Answers that arrived from the handler: (connection id, request number, response).
    private let arrived = Mutex<[(UInt64, Int, HTTPResponse)]>([])
    private let wakeRead: Int32, wakeWrite: Int32
    private let stopping = Atomic<Bool>(false)
    private let stopped = DispatchSemaphore(value: 0)

    private final class Connection {
        let id: UInt64
        let fd: Int32
        var input: [UInt8] = []
        var output: [UInt8] = []
        /// Answers in request order; nil while a request is being answered.
        var queue: [(keepAlive: Bool, head: Bool, response: HTTPResponse?)] = []
        var nextRequest = 0
        /// Request number of `queue[0]`.
        var firstQueued = 0
        var closeAfterOutput = false
        var readClosed = false
        var lastProgress: Int64
        /// When the first byte of the request not yet complete arrived.
        var requestStarted: Int64?

        init(id: UInt64, fd: Int32, now: Int64) {
            self.id = id
            self.fd = fd
            lastProgress = now
        }
    }

    private var connections: [Connection] = []
    /// Accepting pauses until then after the process ran out of descriptors.
    private var acceptPausedUntil: Int64 = 0
    private var nextID: UInt64 = 1

    /// `listener` is a listening non-blocking socket (`ListenAddress.bind`). With a token,
    /// every request must carry `Authorization: Bearer <token>`.
    public init(listener: Int32, token: String?, timeout: Int64 = 30_000,
                now: @escaping @Sendable () -> Int64 = { Int64(System.monotonicNanos() / 1_000_000) }, handler: @escaping Handler) {
        self.listener = listener
        self.token = token.map { Array("Bearer \($0)".utf8) }
        self.timeout = timeout
        self.now = now
        self.handler = handler
        var fds: [Int32] = [0, 0]
        _ = pipe(&fds)
        _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
        _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    public func start() {
        let thread = Thread { [self] in
            loop()
            stopped.signal()
        }
        thread.name = "windowkeeper.http"
        thread.start()
    }

    /// Stops accepting, answers what was asked already (for at most `grace` ms), closes
    /// everything and returns when the server's thread is done.
    public func stop(grace: Int64 = 5_000) {
        graceEnd = now() + grace
        stopping.store(true, ordering: .sequentiallyConsistent)
        wake()
        stopped.wait()
    }

    nonisolated(unsafe) private var graceEnd: Int64 = .max

    private func wake() {
        var b: UInt8 = 1
        _ = write(wakeWrite, &b, 1)
    }

    private func loop() {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let isStopping = stopping.load(ordering: .sequentiallyConsistent)
            if isStopping {
                connections.removeAll { c in
                    let done = c.queue.allSatisfy { $0.response == nil } ? c.queue.isEmpty && c.output.isEmpty : false
                    if done || now() >= graceEnd { close(c.fd); return true }
                    return false
                }
                if connections.isEmpty { break }
            }
            var fds: [pollfd] = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            let accepting = !isStopping && now() >= acceptPausedUntil
            fds.append(pollfd(fd: accepting ? listener : -1, events: Int16(POLLIN), revents: 0))
            for c in connections {
                // A client that hung up is not polled (its HUP would wake every poll) until
                // it has something to send to it.
                if c.readClosed && c.output.isEmpty {
                    fds.append(pollfd(fd: -1, events: 0, revents: 0))
                    continue
                }
                var events: Int16 = 0
                if !c.readClosed && !isStopping && c.queue.count < Self.maxPipelined && c.output.count < Self.maxPendingOutput && !c.closeAfterOutput {
                    events |= Int16(POLLIN)
                }
                if !c.output.isEmpty { events |= Int16(POLLOUT) }
                fds.append(pollfd(fd: c.fd, events: events, revents: 0))
            }
            _ = poll(&fds, nfds_t(fds.count), accepting || isStopping ? 1_000 : 100)
            if fds[0].revents != 0 {
                while read(wakeRead, &buffer, buffer.count) > 0 {}
            }
            takeArrived()
            let polled = connections
            if fds[1].revents != 0 { accept() }
            let t = now()
            for (i, c) in polled.enumerated() {
                let revents = fds[i + 2].revents
                if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { readFrom(c, &buffer, t) }
                if revents & Int16(POLLOUT) != 0 || !c.output.isEmpty || c.queue.first?.response != nil { flush(c, t) }
            }
            reap(t)
        }
        close(listener)
    }

    /// The wake pipe lives as long as the server: a handler may still answer after the
    /// loop has ended (its reply then finds no connection).
    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    private func accept() {
        while true {
            let fd = Glibc.accept(listener, nil, nil)
            if fd < 0 {
                // Out of descriptors: stop polling the listener for a moment instead of spinning.
                if errno == EMFILE || errno == ENFILE { acceptPausedUntil = now() + 100 }
                return
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            if connections.count >= Self.maxConnections {
                close(fd)
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            connections.append(Connection(id: nextID, fd: fd, now: now()))
            nextID += 1
        }
    }

    private func readFrom(_ c: Connection, _ buffer: inout [UInt8], _ t: Int64) {
        guard !c.readClosed else { return }
        let n = buffer.withUnsafeMutableBytes { read(c.fd, $0.baseAddress, $0.count) }
        if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) {
            c.readClosed = true
            parseRequests(c, t)  // complete requests read before the end are still answered
            if c.queue.isEmpty && c.output.isEmpty { c.closeAfterOutput = true }
            return
        }
        guard n > 0 else { return }
        c.lastProgress = t
        if c.requestStarted == nil { c.requestStarted = t }
        c.input.append(contentsOf: buffer[0..<n])
        parseRequests(c, t)
    }

    private func parseRequests(_ c: Connection, _ t: Int64) {
        while !c.input.isEmpty, !c.closeAfterOutput, c.queue.count < Self.maxPipelined {
            let parsed = c.input.withUnsafeBytes { HTTPRequest.parse($0) }
            switch parsed {
            case .incomplete:
                if c.requestStarted == nil { c.requestStarted = t }
                return
            case .failure(let status, let message):
                c.input.removeAll()
                c.queue.append((false, false, .error(status, message, headers: status == 405 ? LiveService.allow : [])))
                c.nextRequest += 1
                c.closeAfterOutput = true
                return
            case .request(let request, let consumed):
                c.input.removeFirst(consumed)
                c.requestStarted = nil
                let number = c.nextRequest
                c.nextRequest += 1
                let head = request.method == "HEAD"
                if !request.keepAlive { c.closeAfterOutput = true }
                if let token, !Self.constantTimeEquals(Array((request.authorization ?? "").utf8), token) {
                    c.queue.append((request.keepAlive, head, .error(401, "missing or wrong bearer token", headers: [("WWW-Authenticate", "Bearer")])))
                    continue
                }
                c.queue.append((request.keepAlive, head, nil))
                let id = c.id
                handler(request) { [weak self] response in
                    guard let self else { return }
                    self.arrived.withLock { $0.append((id, number, response)) }
                    self.wake()
                }
            }
        }
    }

    private func takeArrived() {
        let answers = arrived.withLock { a -> [(UInt64, Int, HTTPResponse)] in
            defer { a.removeAll() }
            return a
        }
        for (id, number, response) in answers {
            guard let c = connections.first(where: { $0.id == id }) else { continue }
            let k = number - c.firstQueued
            guard k >= 0, k < c.queue.count else { continue }
            c.queue[k].response = response
        }
        for c in connections where c.queue.first?.response != nil { flush(c, now()) }
    }

    /// Moves the answers ready at the head of the queue to the output, in order.
    private func serialize(_ c: Connection) {
        while let first = c.queue.first, let response = first.response {
            c.queue.removeFirst()
            c.firstQueued += 1
            let last = c.closeAfterOutput && c.queue.isEmpty
            c.output += response.serialized(keepAlive: first.keepAlive && !last, head: first.head)
        }
    }

    private func flush(_ c: Connection, _ t: Int64) {
        serialize(c)
        // Requests read ahead but held back while the queue was full get their turn.
        if !c.input.isEmpty, c.queue.count < Self.maxPipelined, !c.closeAfterOutput {
            parseRequests(c, t)
            serialize(c)
        }
        while !c.output.isEmpty {
            let n = c.output.withUnsafeBytes { send(c.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 {
                if n < 0, errno != EAGAIN, errno != EINTR { c.output.removeAll(); c.queue.removeAll(); c.closeAfterOutput = true }
                return
            }
            c.output.removeFirst(n)
            c.lastProgress = t
        }
    }

    /// Closes connections that are done, idle for `timeout`, stuck in a request or in an
    /// answer the client does not read.
    private func reap(_ t: Int64) {
        connections.removeAll { c in
            let done = c.closeAfterOutput && c.queue.isEmpty && c.output.isEmpty
            let waiting = c.queue.contains { $0.response == nil }
            let idle = !waiting && t - c.lastProgress >= timeout
            let stuck = c.requestStarted.map { t - $0 >= timeout } ?? false
            let gone = c.readClosed && c.queue.isEmpty && c.output.isEmpty
            if done || idle || stuck || gone {
                close(c.fd)
                return true
            }
            return false
        }
    }

    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return diff == 0
    }
}
