#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where `--listen` serves: `HOST:PORT` (a literal IPv4 or IPv6 address, `[::1]:8787`, or
/// `localhost`) or `unix:PATH`.
public enum ListenAddress: Sendable, Equatable, CustomStringConvertible {
    case inet(host: String, port: UInt16)
    case unix(path: String)

    public var description: String {
        switch self {
        case .unix(let path): "unix:\(path)"
        case .inet(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }

    public static func parse(_ text: String) throws(UsageError) -> ListenAddress {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty, path.utf8.count < 108 else { throw UsageError("--listen unix:PATH needs a path of at most 107 bytes") }
            return .unix(path: path)
        }
        guard let colon = text.lastIndex(of: ":") else { throw UsageError("--listen must be HOST:PORT or unix:PATH, not '\(text)'") }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard let port = UInt16(portText) else { throw UsageError("--listen: '\(portText)' is not a port (0-65535)") }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host == "localhost" { host = "127.0.0.1" }
        guard Self.isIPv4(host) || Self.isIPv6(host) else {
            throw UsageError("--listen: '\(host)' is not a literal IPv4 or IPv6 address (or localhost)")
        }
        return .inet(host: host, port: port)
    }

    /// Loopback and Unix sockets need no token.
    public var isLocal: Bool {
        switch self {
        case .unix: return true
        case .inet(let host, _):
            if Self.isIPv6(host) {
                var a = in6_addr()
                _ = inet_pton(AF_INET6, host, &a)
                return withUnsafeBytes(of: &a) { b in b.prefix(15).allSatisfy { $0 == 0 } && b[15] == 1 }
            }
            return host.hasPrefix("127.")
        }
    }

    static func isIPv4(_ s: String) -> Bool {
        var a = in_addr()
        return inet_pton(AF_INET, s, &a) == 1
    }

    static func isIPv6(_ s: String) -> Bool {
        var a = in6_addr()
        return inet_pton(AF_INET6, s, &a) == 1
    }

    /// A listening, non-blocking socket and the address it is bound to, as printed.
    func bind() -> Result<(fd: Int32, bound: String), ListenError> {
        switch self {
        case .unix(let path):
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { return .failure(ListenError(errno: errno, what: "socket")) }
            var st = stat()
            if lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFSOCK { unlink(path) }
            var sa = sockaddr_un()
            sa.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &sa.sun_path) { p in
                for (i, b) in path.utf8.enumerated() { p[i] = b }
            }
            let r = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
            return finish(fd, r, bound: "unix:\(path)")
        case .inet(let host, let port):
            let v6 = Self.isIPv6(host)
            let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { return .failure(ListenError(errno: errno, what: "socket")) }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            let r: Int32
            if v6 {
                var sa = sockaddr_in6()
                sa.sin6_family = sa_family_t(AF_INET6)
                sa.sin6_port = port.bigEndian
                _ = inet_pton(AF_INET6, host, &sa.sin6_addr)
                r = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
            } else {
                var sa = sockaddr_in()
                sa.sin_family = sa_family_t(AF_INET)
                sa.sin_port = port.bigEndian
                _ = inet_pton(AF_INET, host, &sa.sin_addr)
                r = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            }
            guard r == 0 else { return finish(fd, r, bound: "") }
            var storage = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
            let bound: UInt16 = withUnsafePointer(to: &storage) { p in
                v6 ? p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
                   : p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
            }
            return finish(fd, 0, bound: v6 ? "[\(host)]:\(bound)" : "\(host):\(bound)")
        }
    }

    private func finish(_ fd: Int32, _ bindResult: Int32, bound: String) -> Result<(fd: Int32, bound: String), ListenError> {
        guard bindResult == 0 else {
            let e = ListenError(errno: errno, what: "bind")
            close(fd)
            return .failure(e)
        }
        guard listen(fd, 512) == 0 else {
            let e = ListenError(errno: errno, what: "listen")
            close(fd)
            return .failure(e)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return .success((fd, bound))
    }
}

public struct ListenError: Error, CustomStringConvertible {
    public var errno: Int32
    public var what: String
    public var description: String { "\(what): \(String(cString: strerror(errno)))" }
}
