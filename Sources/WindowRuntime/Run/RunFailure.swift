#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An I/O error that ends a run with exit status 1, by what failed; its text is the one
/// line standard error gets.
enum RunFailure: Error, Equatable, CustomStringConvertible {
    case readingInput(errno: Int32)
    case writingRejects(errno: Int32)
    case writingEvents(errno: Int32)
    /// A checkpoint or the final state could not be written (the state keeper's message).
    case writingState(String)

    var description: String {
        switch self {
        case .readingInput(let e): "reading standard input: \(Self.text(e))"
        case .writingRejects(let e): "writing --rejects: \(Self.text(e))"
        case .writingEvents(let e): "writing events: \(Self.text(e))"
        case .writingState(let message): message
        }
    }

    private static func text(_ e: Int32) -> String { String(cString: strerror(e)) }
}
