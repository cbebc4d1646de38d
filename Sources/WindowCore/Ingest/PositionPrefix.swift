#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `SOURCE<TAB>POSITION<TAB>` prefix of a `--positions` input line: where the line came
/// from (a queue partition, say) and how far that source had been read. Only the first two
/// tabs split; the callback after them may hold tabs of its own.
public struct PositionPrefix: Sendable, Equatable {
    /// The source is `line[0..<sourceEnd]`, the position `line[sourceEnd + 1 ..< callbackStart - 1]`.
    public var sourceEnd: Int
    public var callbackStart: Int

    /// Why a line has no usable prefix (the detail of `missing_position`).
    public enum Missing: Error, Equatable {
        case noTab, oneTab, emptySource, emptyPosition

        public var detail: String {
            switch self {
            case .noTab: "no tab: a --positions line is SOURCE<TAB>POSITION<TAB>CALLBACK"
            case .oneTab: "one tab only: a --positions line is SOURCE<TAB>POSITION<TAB>CALLBACK"
            case .emptySource: "empty SOURCE before the first tab"
            case .emptyPosition: "empty POSITION between the first two tabs"
            }
        }
    }

    /// Finds the prefix of `line`.
    public static func find(_ line: UnsafeBufferPointer<UInt8>) -> Result<PositionPrefix, Missing> {
        guard let first = tab(line, from: 0) else { return .failure(.noTab) }
        guard let second = tab(line, from: first + 1) else { return .failure(.oneTab) }
        if first == 0 { return .failure(.emptySource) }
        if second == first + 1 { return .failure(.emptyPosition) }
        return .success(PositionPrefix(sourceEnd: first, callbackStart: second + 1))
    }

    /// The index of the first tab at or after `from`.
    @inline(__always)
    static func tab(_ line: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        guard from < line.count, let base = line.baseAddress, let p = memchr(base + from, 0x09, line.count - from) else { return nil }
        return UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self) - base
    }

    public func source(_ line: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: line[0..<sourceEnd])
    }

    public func position(_ line: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: line[(sourceEnd + 1)..<(callbackStart - 1)])
    }

    public func callback(_ line: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: line[callbackStart...])
    }
}

extension RecordDecoder {
    /// Decodes a `--positions` line. A wholly blank line is blank; otherwise the first
    /// diagnostic that applies, in the order of the contract: `invalid_utf8` (anywhere in the
    /// line), `missing_position`, then the callback's own. `prefix` is set when the line has
    /// a prefix of valid UTF-8, whatever becomes of its callback (its position counts as read).
    public mutating func decodePositioned(_ line: UnsafeBufferPointer<UInt8>, prefix: inout PositionPrefix?) -> LineOutcome {
        prefix = nil
        if Self.isBlank(line) { return .blank }
        switch PositionPrefix.find(line) {
        case .failure(let missing):
            guard UTF8Validator.isValid(line) else { return .rejected(.invalidUTF8, detail: "line is not valid UTF-8") }
            return .rejected(.missingPosition, detail: missing.detail)
        case .success(let p):
            guard UTF8Validator.isValid(UnsafeBufferPointer(rebasing: line[0..<p.callbackStart])) else { return .rejected(.invalidUTF8, detail: "line is not valid UTF-8") }
            prefix = p
            return decode(p.callback(line))
        }
    }
}
