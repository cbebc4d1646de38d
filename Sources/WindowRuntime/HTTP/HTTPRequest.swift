import WindowCore

/// One HTTP/1.1 request head, parsed strictly (the listener accepts GET and HEAD only and
/// never reads a body).
public struct HTTPRequest: Sendable, Equatable {
    public var method: String
    /// The path of the target, without its query.
    public var path: String
    /// Query parameters in order, `+` and percent-escapes decoded.
    public var query: [(name: String, value: String)]
    public var keepAlive: Bool
    /// The value of `Authorization`, if any.
    public var authorization: String?

    public static func == (a: HTTPRequest, b: HTTPRequest) -> Bool {
        a.method == b.method && a.path == b.path && a.keepAlive == b.keepAlive && a.authorization == b.authorization
            && a.query.map(\.name) == b.query.map(\.name) && a.query.map(\.value) == b.query.map(\.value)
    }

    /// The first value of parameter `name`.
    public func parameter(_ name: String) -> String? { query.first { $0.name == name }?.value }

    /// Request heads longer than this are refused with 431.
    public static let maxHeadBytes = 8 * 1024

    public enum Parse: Equatable {
        /// More bytes are needed.
        case incomplete
        /// A request, and how many bytes of the input its head took.
        case request(HTTPRequest, consumed: Int)
        /// A malformed request: answer with `status` and close the connection.
        case failure(status: Int, message: String)
    }

    /// Parses the request head at the start of `bytes`.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Parse {
        let b = bytes.bindMemory(to: UInt8.self)
        let limit = min(b.count, maxHeadBytes)
        var end: Int?
        var i = 0
        while i < limit {
            let c = b[i]
            if c == 0 { return .failure(status: 400, message: "NUL byte in the request head") }
            if c == 0x0A {
                guard i > 0, b[i - 1] == 0x0D else { return .failure(status: 400, message: "bare LF: lines must end with CRLF") }
                if i >= 3, b[i - 2] == 0x0A, b[i - 3] == 0x0D {
                    end = i + 1
                    break
                }
                if i == 1 { return .failure(status: 400, message: "empty request line") }
            }
            i += 1
        }
        guard let end else {
            return b.count >= maxHeadBytes ? .failure(status: 431, message: "request head larger than 8 KiB") : .incomplete
        }
        // Lines without their CRLF; the head ends with an empty line.
        var lines: [UnsafeBufferPointer<UInt8>] = []
        var start = 0
        for j in 0..<(end - 2) where b[j] == 0x0A {
            lines.append(UnsafeBufferPointer(rebasing: b[start..<(j - 1)]))
            start = j + 1
        }
        guard let requestLine = lines.first else { return .failure(status: 400, message: "empty request line") }
        let parts = requestLine.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty,
              parts[0].allSatisfy({ Self.isToken($0) }) else {
            return .failure(status: 400, message: "malformed request line")
        }
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            return .failure(status: version.hasPrefix("HTTP/") ? 505 : 400, message: "unsupported protocol version")
        }
        // A body is never read: refused with 405 for a method that is not allowed anyway (SPEC
        // section 10), else with 400; either way the connection closes after the answer.
        let method = String(decoding: parts[0], as: UTF8.self)
        let bodyRefused: Parse = method == "GET" || method == "HEAD"
            ? .failure(status: 400, message: "a request body is not accepted")
            : .failure(status: 405, message: "method \(method) is not allowed")
        var host = 0
        var keepAlive = version == "HTTP/1.1"
        var authorization: String?
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: 0x3A), colon > 0,
                  line[..<colon].allSatisfy({ Self.isToken($0) }) else {
                return .failure(status: 400, message: "malformed header line")
            }
            let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
            var value = Substring(String(decoding: line[(colon + 1)...], as: UTF8.self))
            while let f = value.first, f == " " || f == "\t" { value.removeFirst() }
            while let l = value.last, l == " " || l == "\t" { value.removeLast() }
            if value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F }) {
                return .failure(status: 400, message: "control character in header \(name)")
            }
            switch name {
            case "host": host += 1
            case "connection":
                let tokens = value.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: [" ", "\t"]) }
                if tokens.contains("close") { keepAlive = false } else if tokens.contains("keep-alive") { keepAlive = true }
            case "authorization": if authorization == nil { authorization = String(value) }
            case "content-length":
                guard value.allSatisfy(\.isASCII), value.allSatisfy(\.isNumber), !value.isEmpty else {
                    return .failure(status: 400, message: "malformed Content-Length")
                }
                if value.contains(where: { $0 != "0" }) { return bodyRefused }
            case "transfer-encoding": return bodyRefused
            default: break
            }
        }
        if version == "HTTP/1.1", host != 1 {
            return .failure(status: 400, message: host == 0 ? "missing Host header" : "more than one Host header")
        }
        let target = parts[1]
        guard target.first == 0x2F else { return .failure(status: 400, message: "the target must be a path starting with /") }
        let q = target.firstIndex(of: 0x3F)
        guard let path = percentDecoded(UnsafeBufferPointer(rebasing: target[..<(q ?? target.endIndex)]), plusIsSpace: false) else {
            return .failure(status: 400, message: "bad percent-encoding in the path")
        }
        var query: [(name: String, value: String)] = []
        if let q {
            for pair in target[(q + 1)...].split(separator: 0x26, omittingEmptySubsequences: true) {
                let eq = pair.firstIndex(of: 0x3D)
                let rawName = UnsafeBufferPointer(rebasing: pair[..<(eq ?? pair.endIndex)])
                let rawValue = eq.map { UnsafeBufferPointer(rebasing: pair[($0 + 1)...]) } ?? UnsafeBufferPointer(start: nil, count: 0)
                guard let name = percentDecoded(rawName, plusIsSpace: true),
                      let value = percentDecoded(rawValue, plusIsSpace: true) else {
                    return .failure(status: 400, message: "bad percent-encoding in the query")
                }
                query.append((name, value))
            }
        }
        return .request(HTTPRequest(method: method, path: path, query: query, keepAlive: keepAlive, authorization: authorization),
                        consumed: end)
    }

    /// `%XX` escapes (and `+` as a space in a query) decoded; nil when an escape is malformed
    /// or the result is not UTF-8.
    static func percentDecoded(_ s: UnsafeBufferPointer<UInt8>, plusIsSpace: Bool) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x41...0x46: c - 0x41 + 10
            case 0x61...0x66: c - 0x61 + 10
            default: nil
            }
        }
        while i < s.count {
            let c = s[i]
            if c == 0x25 {
                guard i + 2 < s.count, let h = hex(s[i + 1]), let l = hex(s[i + 2]) else { return nil }
                out.append(h << 4 | l)
                i += 3
                continue
            }
            out.append(plusIsSpace && c == 0x2B ? 0x20 : c)
            i += 1
        }
        return out.withUnsafeBufferPointer { UTF8Validator.isValid($0) } && !out.contains(0) ? String(decoding: out, as: UTF8.self) : nil
    }

    /// RFC 9110 token characters.
    static func isToken(_ c: UInt8) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): true
        default: false
        }
    }
}
