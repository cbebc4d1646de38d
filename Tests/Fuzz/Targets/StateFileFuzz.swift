// libFuzzer target: bytes as a `--state` file into the loader (`StateFile.open`, `openHeader`,
// `decode`, the per-contact reads of `status`). See docs/reliability.md.
//
// The first input byte picks how the rest is used: as it is, or "resealed" (its header and
// bucket checksums recomputed where the loader will look for them, so that mutations reach
// the structure behind the checksums instead of stopping at them). Properties:
//   - the loader refuses with a message or loads; `decode` loads exactly when `open` does;
//   - a loaded state written back (`encoded()`) loads to an equal value (its windows perhaps
//     in another order: the writer orders them by bucket), and writing that
//     again gives the same bytes (a fixed point);
//   - nothing is allocated beyond the file's size times a small constant (run with
//     `-malloc_limit_mb`, see Tests/Fuzz/run.sh).
#if canImport(Glibc)
import Glibc
#endif
@testable import WindowCore

private func check(_ ok: Bool, _ message: @autoclosure () -> String) {
    if !ok { fatalError("property failed: \(message())") }
}

/// Recomputes the checksums of a file in the layout `StateFile.openHeader` reads; gives up
/// (leaving the bytes as they are) where the layout runs out of bytes.
private func reseal(_ b: inout [UInt8]) {
    var pos = StateFile.magic.count
    func need(_ n: Int) -> Bool { n >= 0 && pos <= b.count - n }
    func u32() -> Int? {
        guard need(4) else { return nil }
        defer { pos += 4 }
        return Int(UInt32(b[pos]) | UInt32(b[pos + 1]) << 8 | UInt32(b[pos + 2]) << 16 | UInt32(b[pos + 3]) << 24)
    }
    func skip(_ n: Int) -> Bool {
        guard need(n) else { return false }
        pos += n
        return true
    }
    func field() -> Bool { guard let n = u32() else { return false }; return skip(n) }
    func store(_ v: UInt64, at p: Int) { for k in 0..<8 { b[p + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) } }
    guard b.count >= pos + 4, let version = u32(), skip(5 * 8 + 1), version < 3 || skip(1) else { return }
    guard let leads = u32(), leads <= 64, skip(8 * leads + 16) else { return }
    guard let apps = u32() else { return }
    for _ in 0..<apps { guard field() else { return } }
    if version >= 3 {
        guard let sources = u32() else { return }
        for _ in 0..<sources { guard field(), field() else { return } }
    }
    if version >= 4 {
        guard let links = u32() else { return }
        for _ in 0..<links { guard field(), field(), field(), skip(8) else { return } }
    }
    guard skip(8), need(1) else { return }
    let bits = Int(b[pos])
    pos += 1
    guard need(8) else { return }
    let headerEnd = pos
    store(b.withUnsafeBytes { StateFile.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<headerEnd]), seed: 0) }, at: headerEnd)
    pos += 8
    guard bits <= StateFile.maxBucketBits else { return }
    let indexStart = pos, buckets = 1 << bits
    guard need(buckets * 16 + 8) else { return }
    let windowsStart = indexStart + buckets * 16 + 8
    var start = windowsStart
    for j in 0..<buckets {
        let p = indexStart + 16 * j
        let rel = b[p..<(p + 8)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let end = rel > UInt64(b.count) ? b.count : min(b.count, max(start, windowsStart + Int(rel)))
        store(b.withUnsafeBytes { StateFile.checksum(UnsafeRawBufferPointer(rebasing: $0[start..<end]), seed: UInt64(j)) }, at: p + 8)
        start = end
    }
    store(b.withUnsafeBytes { StateFile.checksum(UnsafeRawBufferPointer(rebasing: $0[indexStart..<(windowsStart - 8)]), seed: 1) },
          at: windowsStart - 8)
}

private func difference(_ a: StateFile, _ b: StateFile) -> String {
    if a.semantics != b.semantics { return "semantics \(a.semantics) vs \(b.semantics)" }
    if a.clock != b.clock || a.newest != b.newest { return "clock \(a.clock)/\(a.newest) vs \(b.clock)/\(b.newest)" }
    if a.positions != b.positions { return "positions \(a.positions) vs \(b.positions)" }
    if a.links != b.links { return "links \(a.links) vs \(b.links)" }
    return "windows\n\(a.windows.map { "\($0)" }.joined(separator: "\n"))\nvs\n\(b.windows.map { "\($0)" }.joined(separator: "\n"))"
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    var bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if data[0] & 1 == 1 { reseal(&bytes) }
    // `WK_FUZZ_WRITE_STATE=FILE .build/fuzz/statefile INPUT` writes the file the loader sees
    // (resealed or not), to try it on the CLI: `windowkeeper --state FILE` exits 0 or 2.
    if let path = getenv("WK_FUZZ_WRITE_STATE") {
        let f = fopen(path, "wb")
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
    }

    let opened: Result<StateFile.Header, StateFile.LoadError> = bytes.withUnsafeBufferPointer { b in
        do throws(StateFile.LoadError) { return .success(try StateFile.open(b)) } catch { return .failure(error) }
    }
    // The per-contact read of `status --contact`: only the header and that contact's buckets checked.
    bytes.withUnsafeBufferPointer { b in
        guard let h = try? StateFile.openHeader(b) else { return }
        check(h.windowsStart <= h.windowsEnd && h.windowsEnd <= b.count, "header ranges outside the file")
        let contact: [UInt8] = Array("46732001122".utf8)
        var n = 0
        try? contact.withUnsafeBufferPointer { try StateFile.forEachWindow(b, h, contact: $0) { _ in n += 1 } }
    }
    let decoded: StateFile
    do throws(StateFile.LoadError) {
        decoded = try StateFile.decode(bytes)
    } catch {
        check(!error.description.isEmpty, "a refusal without a message")
        if case .success = opened { check(false, "open accepts what decode refuses: \(error)") }
        return 0
    }
    guard case .success(let h) = opened else { check(false, "decode loads what open refuses"); return 0 }
    check(decoded.windows.count == h.windowCount, "\(decoded.windows.count) windows, header says \(h.windowCount)")
    var visited = 0
    bytes.withUnsafeBufferPointer { b in
        for part in StateFile.parts(b, h, count: 3) { StateFile.forEachWindow(b, in: part) { _ in visited += 1 } }
    }
    check(visited == h.windowCount, "parts visit \(visited) of \(h.windowCount) windows")
    let written = decoded.encoded()
    let again: StateFile
    do throws(StateFile.LoadError) { again = try StateFile.decode(written) } catch {
        check(false, "a loaded state written back does not load: \(error)")
        return 0
    }
    // The writer orders windows by bucket, then as it finds them; a file made otherwise (a
    // record moved within its bucket, a resealed checksum) loads to the same windows in
    // another order.
    var sorted = decoded
    sorted.windows = again.windows.count == decoded.windows.count ? decoded.windows.sorted { "\($0)" < "\($1)" } : decoded.windows
    var againSorted = again
    againSorted.windows.sort { "\($0)" < "\($1)" }
    check(againSorted == sorted, "a loaded state written back loads to another value: \(difference(decoded, again))")
    check(again.encoded() == written, "writing a state is not a fixed point")
    return 0
}
