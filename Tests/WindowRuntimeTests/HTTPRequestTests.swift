import Testing
import WindowCore
@testable import WindowRuntime

@Suite struct HTTPRequestTests {
    func parse(_ text: String) -> HTTPRequest.Parse {
        Array(text.utf8).withUnsafeBytes { HTTPRequest.parse($0) }
    }

    func status(_ text: String) -> Int? {
        if case .failure(let s, _) = parse(text) { return s }
        return nil
    }

    func request(_ text: String) -> HTTPRequest? {
        if case .request(let r, _) = parse(text) { return r }
        return nil
    }

    @Test func aPlainGet() throws {
        let r = try #require(request("GET /v1/windows?app_id=A&contact=%2B46%2073%20200+11+22 HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(r.method == "GET" && r.path == "/v1/windows" && r.keepAlive)
        #expect(r.parameter("app_id") == "A")
        #expect(r.parameter("contact") == "+46 73 200 11 22")
        #expect(WindowQueryContact.normalised(r.parameter("contact")!) == "46732001122")
    }

    @Test func emptyAndRepeatedParameters() throws {
        let r = try #require(request("GET /v1/windows?app_id=&contact=1&contact=2&flag HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(r.parameter("app_id") == "")
        #expect(r.parameter("contact") == "1")  // the first counts
        #expect(r.parameter("flag") == "")
        #expect(r.parameter("window") == nil)
    }

    @Test func incompleteHeads_waitForMore() {
        #expect(parse("GET / HTTP/1.1\r\nHost: x\r\n") == .incomplete)
        #expect(parse("GE") == .incomplete)
    }

    @Test func malformedShapes() {
        #expect(status("GET / HTTP/1.1\nHost: x\n\n") == 400)  // bare LF
        #expect(status("GET / HTTP/1.1\r\nHost: x\n\r\n") == 400)
        #expect(status("GET / HTTP/1.1\r\n\r\n") == 400)  // no Host
        #expect(status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400)
        #expect(status("GET / HTTP/1.1\r\nHost: x\0\r\n\r\n") == 400)  // NUL
        #expect(status("GET /v1/windows?contact=%4 HTTP/1.1\r\nHost: x\r\n\r\n") == 400)  // bad escape
        #expect(status("GET /v1/windows?contact=%zz HTTP/1.1\r\nHost: x\r\n\r\n") == 400)
        #expect(status("GET /v1/windows?contact=%FF HTTP/1.1\r\nHost: x\r\n\r\n") == 400)  // not UTF-8
        #expect(status("GET /v1/windows?contact=%00 HTTP/1.1\r\nHost: x\r\n\r\n") == 400)
        #expect(status("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello") == 400)  // a body on GET
        #expect(status("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n") == 400)
        // A body on a method that is not allowed anyway: 405, as SPEC section 10 says for POST.
        #expect(status("POST /v1/windows HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}") == 405)
        #expect(status("PUT /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n") == 405)
        #expect(status("GET / HTTP/2.0\r\nHost: x\r\n\r\n") == 505)
        #expect(status("GET /  HTTP/1.1\r\nHost: x\r\n\r\n") == 400)
        #expect(status("GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n") == 400)
        #expect(status("\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n") == 400)
        #expect(status("GET / HTTP/1.1\r\nBad Header: x\r\nHost: x\r\n\r\n") == 400)
        #expect(status("GET / HTTP/1.1\r\n folded\r\nHost: x\r\n\r\n") == 400)
        #expect(status("G(T / HTTP/1.1\r\nHost: x\r\n\r\n") == 400)
    }

    @Test func aHugeHead_is431_evenBeforeItEnds() {
        let big = "GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "a", count: 9_000)
        #expect(status(big) == 431)
        #expect(status(big + "\r\n\r\n") == 431)
        let fits = "GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "a", count: 8_000) + "\r\n\r\n"
        #expect(request(fits) != nil)
    }

    @Test func pipelinedRequests_parseOneAfterTheOther() throws {
        let two = Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nHEAD /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)
        let first = two.withUnsafeBytes { HTTPRequest.parse($0) }
        guard case .request(let a, let used) = first else { Issue.record("no first request"); return }
        #expect(a.path == "/healthz")
        let second = two[used...].withUnsafeBytes { HTTPRequest.parse($0) }
        guard case .request(let b, let rest) = second else { Issue.record("no second request"); return }
        #expect(b.method == "HEAD" && b.path == "/readyz" && !b.keepAlive)
        #expect(used + rest == two.count)
    }

    @Test func http10_closesUnlessAskedToKeepAlive() throws {
        #expect(try #require(request("GET / HTTP/1.0\r\n\r\n")).keepAlive == false)
        #expect(try #require(request("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")).keepAlive)
    }

    @Test func tokens_compareWhole() {
        #expect(HTTPServer.constantTimeEquals(Array("Bearer s3cret".utf8), Array("Bearer s3cret".utf8)))
        #expect(!HTTPServer.constantTimeEquals(Array("Bearer s3cre".utf8), Array("Bearer s3cret".utf8)))
        #expect(!HTTPServer.constantTimeEquals(Array("Bearer s3cret!".utf8), Array("Bearer s3cret".utf8)))
        #expect(!HTTPServer.constantTimeEquals([], Array("Bearer x".utf8)))
    }

    @Test func listenAddresses() throws {
        #expect(try ListenAddress.parse("127.0.0.1:0") == .inet(host: "127.0.0.1", port: 0))
        #expect(try ListenAddress.parse("localhost:8787") == .inet(host: "127.0.0.1", port: 8787))
        #expect(try ListenAddress.parse("[::1]:80") == .inet(host: "::1", port: 80))
        #expect(try ListenAddress.parse("unix:/tmp/wk.sock") == .unix(path: "/tmp/wk.sock"))
        #expect(try ListenAddress.parse("[::1]:80").isLocal)
        #expect(try !ListenAddress.parse("0.0.0.0:80").isLocal)
        #expect(throws: UsageError.self) { try ListenAddress.parse("example.com:80") }
        #expect(throws: UsageError.self) { try ListenAddress.parse("127.0.0.1:99999") }
        #expect(throws: UsageError.self) { try RunOptions.parse(["--listen", "0.0.0.0:8787"]) }
        #expect(throws: UsageError.self) { try RunOptions.parse(["--serve-after-eof"]) }
        #expect(try RunOptions.parse(["--listen", "0.0.0.0:8787", "--listen-token", "t"])?.listen == .inet(host: "0.0.0.0", port: 8787))
    }
}

/// The contact normalisation a query applies (the input's).
enum WindowQueryContact {
    static func normalised(_ identity: String) -> String {
        String(decoding: WindowCore.WindowQuery(app: "", identity: identity).contact, as: UTF8.self)
    }
}
