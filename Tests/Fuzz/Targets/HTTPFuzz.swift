// libFuzzer target: bytes from a client into the `--listen` request parser (`HTTPRequest.parse`,
// compiled in from Sources/WindowRuntime/HTTP/HTTPRequest.swift), driven the way
// `HTTPServer.parseRequests` drives it: a connection buffer, pipelined requests taken off its
// front one by one, the first failure ending the connection. See docs/reliability.md.
//
// The first input byte seeds the read sizes; the rest is what the client sends. Properties:
//   - the requests (and the final failure) are the same whether the bytes arrive in one read
//     or in pieces, and every prefix of a head parses as `incomplete` or as the whole does;
//   - `consumed` is within the buffer and past the head's blank line;
//   - a parsed request written back (path and query percent-encoded, the same method,
//     Authorization and keep-alive) parses to an equal request.
import Foundation
import WindowCore

private enum Step: Equatable {
    case request(HTTPRequest)
    case failure(Int, String)
}

/// What the server takes from a connection that receives `reads` in order.
private func serve(_ reads: [ArraySlice<UInt8>]) -> [Step] {
    var input: [UInt8] = []
    var steps: [Step] = []
    for read in reads {
        input.append(contentsOf: read)
        while !input.isEmpty {
            switch input.withUnsafeBytes({ HTTPRequest.parse($0) }) {
            case .incomplete:
                check(input.count < HTTPRequest.maxHeadBytes, "incomplete with \(input.count) bytes buffered")
                break
            case .failure(let status, let message):
                check((400...599).contains(status), "status \(status)")
                steps.append(.failure(status, message))
                return steps
            case .request(let request, let consumed):
                check(consumed >= 4 && consumed <= input.count, "consumed \(consumed) of \(input.count)")
                check(input[consumed - 4..<consumed].elementsEqual([0x0D, 0x0A, 0x0D, 0x0A]), "head does not end with CRLF CRLF")
                check(request.path.utf8.first == 0x2F, "path \(request.path)")
                steps.append(.request(request))
                input.removeFirst(consumed)
                continue
            }
            break
        }
    }
    return steps
}

private func percentEncoded(_ s: String, keepSlash: Bool) -> String {
    var out = ""
    for b in s.utf8 {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.unicodeScalars.append(Unicode.Scalar(b))
        case UInt8(ascii: "/") where keepSlash:
            out.append("/")
        default:
            out += "%" + String(b, radix: 16, uppercase: true).leftPadded()
        }
    }
    return out
}

extension String {
    fileprivate func leftPadded() -> String { count == 1 ? "0" + self : self }
}

/// The request written back as a head the parser accepts.
private func written(_ r: HTTPRequest) -> [UInt8] {
    var target = percentEncoded(r.path, keepSlash: true)
    if !r.query.isEmpty {
        target += "?" + r.query.map { percentEncoded($0.name, keepSlash: false) + "=" + percentEncoded($0.value, keepSlash: false) }.joined(separator: "&")
    }
    var head = "\(r.method) \(target) HTTP/1.1\r\nHost: fuzz\r\n"
    if let a = r.authorization { head += "Authorization: \(a)\r\n" }
    if !r.keepAlive { head += "Connection: close\r\n" }
    return Array((head + "\r\n").utf8)
}

private func check(_ ok: Bool, _ message: @autoclosure () -> String) {
    if !ok { fatalError("property failed: \(message())") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let whole = serve([bytes[...]])
    // The same bytes in reads of 1..16 bytes, sizes from a generator seeded by the first byte.
    var seed = UInt64(data[0]) &+ 0x9E37_79B9_7F4A_7C15
    var reads: [ArraySlice<UInt8>] = []
    var i = 0
    while i < bytes.count {
        seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let n = min(Int(seed >> 60) + 1, bytes.count - i)
        reads.append(bytes[i..<(i + n)])
        i += n
    }
    let pieces = serve(reads)
    check(pieces == whole, "in pieces \(pieces) vs in one read \(whole)")
    // Byte by byte: the worst split.
    if bytes.count <= 2048 {
        check(serve(bytes.indices.map { bytes[$0...$0] }) == whole, "byte by byte differs")
    }
    for step in whole {
        guard case .request(let r) = step else { continue }
        // A header value that is not text (its bytes decode to U+FFFD) cannot be written
        // back as the same bytes: only text values are round-tripped.
        if let a = r.authorization, a.unicodeScalars.contains(where: { $0 == "\u{FFFD}" || !$0.isASCII }) { continue }
        let again = written(r)
        let parsed = again.withUnsafeBytes { HTTPRequest.parse($0) }
        check(parsed == .request(r, consumed: again.count),
              "written back as \(String(decoding: again, as: UTF8.self)) it parses as \(parsed), not \(r)")
    }
    return 0
}
