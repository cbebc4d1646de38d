#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Standard input as a sequence of chunks: a regular file is mapped (lines reach the
/// decoders without copies, and its pages are released behind the reader), anything else
/// is read 1 MiB at a time, waiting on the input and the signal pipe together so that
/// a stop signal ends reading between chunks (and SIGUSR1 gets its checkpoint).
struct InputSource {
    let fd: Int32
    /// The signal pipe (`Signals.install`), or -1.
    let signalFD: Int32

    /// What the reader does with the input.
    struct Handlers {
        /// Takes a chunk; `stable` is the whole mapped input when the chunk lies in it, and
        /// `idle` says that no more input is waiting right now. A result stops reading.
        var chunk: (_ bytes: UnsafeBufferPointer<UInt8>, _ stable: UnsafeBufferPointer<UInt8>?, _ idle: Bool) -> ReaderOutcome?
        /// While waiting for input: how long to wait at most (ms, -1 for ever), and what to
        /// do when that time passed with no input; nil when waiting needs no timeout.
        var quiet: (timeout: () -> Int32, passed: () -> Void)?
        /// Ends reading, with the mapped input still mapped (lines in flight refer to it).
        var finish: (ReaderOutcome) -> ReaderOutcome
        /// The lowest address of the mapped input that lines not yet done with still refer
        /// to (nil: none); its pages before that are released.
        var referenced: () -> UnsafeRawPointer? = { nil }
    }

    /// Reads until the end of input, a stop signal or a stop from `handlers.chunk`, then
    /// `handlers.finish`.
    func run(_ handlers: Handlers) -> ReaderOutcome {
        if let mapped = map() {
            defer { munmap(UnsafeMutableRawPointer(mutating: mapped.baseAddress), mapped.count) }
            return handlers.finish(runMapped(mapped, handlers))
        }
        return handlers.finish(runRead(handlers))
    }

    private func runRead(_ handlers: Handlers) -> ReaderOutcome {
        #if os(Linux)
        _ = fcntl(fd, 1031 /* F_SETPIPE_SZ */, 1 << 20)
        #endif
        let capacity = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            if !waitForInput(handlers) { return .stopped }
            let n = read(fd, buffer.baseAddress, capacity)
            if n < 0 {
                if errno == EINTR { continue }
                return .ioError(.readingInput(errno: errno))
            }
            if n == 0 { return .endOfInput }
            let chunk = UnsafeBufferPointer(start: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), count: n)
            if let stop = handlers.chunk(chunk, nil, !inputReady()) { return stop }
        }
    }

    /// A regular file on standard input, mapped; nil for anything else.
    private func map() -> UnsafeRawBufferPointer? {
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let offset = lseek(fd, 0, SEEK_CUR)
        guard offset == 0, st.st_size > 0, let p = mmap(nil, Int(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0),
              p != MAP_FAILED else { return nil }
        _ = madvise(p, Int(st.st_size), MADV_SEQUENTIAL)
        return UnsafeRawBufferPointer(start: p, count: Int(st.st_size))
    }

    private func runMapped(_ all: UnsafeRawBufferPointer, _ handlers: Handlers) -> ReaderOutcome {
        let bytes = all.assumingMemoryBound(to: UInt8.self)
        let base = all.baseAddress!
        // What stays resident: the lines not yet sequenced (at most the pool's segments in
        // flight), the chunk being framed and two chunks faulted in ahead.
        let chunk = 2 << 20
        var start = 0
        var front = ReleaseFront(page: Int(sysconf(Int32(_SC_PAGESIZE))))
        while start < bytes.count {
            if signalFD >= 0, Self.readable(signalFD), Signals.takeStop(signalFD) { return .stopped }
            let end = min(bytes.count, start + chunk)
            // Fault the next chunks in ahead of the framer, in one call instead of page by page.
            let ahead = min(bytes.count, end + 2 * chunk) - end
            if ahead > 0 { _ = madvise(UnsafeMutableRawPointer(mutating: base + end), ahead, MADV_WILLNEED) }
            if let stop = handlers.chunk(UnsafeBufferPointer(rebasing: bytes[start..<end]), bytes, false) { return stop }
            start = end
            let referenced = handlers.referenced().map { $0 - base }
            if let drop = front.advance(framed: start, referenced: referenced) {
                _ = madvise(UnsafeMutableRawPointer(mutating: base + drop.lowerBound), drop.count, MADV_DONTNEED)
            }
        }
        return .endOfInput
    }

    /// True when standard input has more bytes (or its end) ready right now.
    private func inputReady() -> Bool { Self.readable(fd) }

    private static func readable(_ fd: Int32) -> Bool {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        return poll(&fds, 1, 0) > 0
    }

    /// Waits until standard input is readable (or closed); false when a stop signal came.
    private func waitForInput(_ handlers: Handlers) -> Bool {
        guard signalFD >= 0 || handlers.quiet != nil else { return true }
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0)]
        while true {
            let r = poll(&fds, 2, handlers.quiet?.timeout() ?? -1)
            if r < 0, errno == EINTR { continue }
            if fds[1].revents != 0 {
                // SIGUSR1 only asks for a checkpoint: taken now, and reading goes on.
                if Signals.takeStop(signalFD) { return false }
                handlers.quiet?.passed()
                continue
            }
            if r == 0 {
                handlers.quiet?.passed()
                continue
            }
            return true
        }
    }
}

/// Which pages of a mapped input are released, and when: all whole pages before the bytes
/// still needed, which are the chunk not yet framed and the lines that segments not yet
/// sequenced refer to (a decoder may not have started on them). The mapping is private and
/// read-only, so releasing loses nothing, but a released page touched again is faulted back
/// in and stays resident for the rest of the run (the front never moves back): releasing a
/// fixed distance behind the framer let lagging segments fault back in pages all along a
/// file replay, which then grew with the file.
struct ReleaseFront {
    let page: Int
    /// Everything before this offset is released.
    private(set) var released = 0

    init(page: Int) { self.page = page }

    /// After framing up to offset `framed`, with `referenced` the lowest offset that lines in
    /// flight refer to (nil: none): the range to release now, nil when none.
    mutating func advance(framed: Int, referenced: Int?) -> Range<Int>? {
        let keep = min(framed, referenced ?? framed)
        let end = keep / page * page
        guard end > released else { return nil }
        defer { released = end }
        return released..<end
    }
}
