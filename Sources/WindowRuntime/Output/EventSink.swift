import Synchronization

/// Where encoded event lines go: standard output in production, memory in tests.
public protocol EventSink: Sendable {
    /// Takes complete NDJSON lines; one call's bytes stay together.
    func write(_ bytes: UnsafeRawBufferPointer)
    /// The errno of the first write that failed, if any: from then on events are lost, so
    /// reading stops and no state that counts them as emitted is written.
    var error: Int32? { get }
}

extension EventSink {
    public var error: Int32? { nil }
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
