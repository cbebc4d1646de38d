import Synchronization

/// Where encoded event lines go: standard output in production, memory in tests.
public protocol EventSink: Sendable {
    /// Takes complete NDJSON lines; one call's bytes stay together.
    func write(_ bytes: UnsafeRawBufferPointer)
}

extension FDWriter: EventSink {}

/// Collects the event feed in memory.
public final class MemorySink: EventSink {
    private let storage = Mutex<[UInt8]>([])

    public init() {}

    public func write(_ bytes: UnsafeRawBufferPointer) { storage.withLock { $0.append(contentsOf: bytes) } }

    public var text: String { storage.withLock { String(decoding: $0, as: UTF8.self) } }

    public var lines: [String] { text.split(separator: "\n").map(String.init) }
}
