/// Writing a state file (the format is described in `StateFile.swift`).
extension StateFile {
    /// A file ready to write: its header and index, and the shards' records (app indices
    /// already rewritten to the merged table), in bucket order by `forEachPiece`.
    public struct Encoded {
        var head: [UInt8]
        var images: [WindowImage]
        /// For each image written to a file, the app index rewrite its records need (applied
        /// as they are read back; an image in memory is rewritten in place beforehand).
        var remaps: [[UInt32]?]
        var bits: Int
        /// A spilled image could not be read back while the index was made.
        public internal(set) var readFailed = false
        /// Bytes a spilled image is read back in at first (tests make it small).
        var readChunk = 4 << 20

        /// The file's bytes in order, as pieces (no copy of the records in memory is made;
        /// those in a file are read back in order). False when reading one back failed.
        @discardableResult
        public func forEachPiece(_ body: (UnsafeRawBufferPointer) -> Void) -> Bool {
            head.withUnsafeBytes(body)
            return forEachSlice { _, slice in body(slice) }
        }

        /// The records of every file bucket in bucket order, image by image, with the bucket's
        /// number. False when reading a spilled image back failed.
        func forEachSlice(_ body: (Int, UnsafeRawBufferPointer) -> Void) -> Bool {
            let shift = maxBucketBits - bits
            var readers = images.map { image in
                image.spill.map { SpillReader($0, generation: image.spillGeneration, capacity: readChunk) }
            }
            for j in 0..<(1 << bits) {
                let first = j << shift, last = ((j + 1) << shift) - 1
                for (i, image) in images.enumerated() {
                    let start = first == 0 ? 0 : image.bucketEnds[first - 1], end = image.bucketEnds[last]
                    guard end > start else { continue }
                    if let reader = readers[i] {
                        guard let slice = reader.slice(start, end) else { return false }
                        if let remap = remaps[i] { rewriteApps(slice, remap) }
                        body(j, UnsafeRawBufferPointer(slice))
                    } else {
                        image.records.withUnsafeBytes { body(j, UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
                    }
                }
            }
            readers.removeAll()
            return true
        }

        /// The whole file in one array (tests, tools).
        public var bytes: [UInt8] {
            var out: [UInt8] = []
            forEachPiece { out.append(contentsOf: $0) }
            return out
        }
    }

    /// Reads a spilled image back in order, a few MiB at a time: each request starts where the
    /// previous one ended, so what is already read is kept and the rest read after it.
    final class SpillReader {
        let file: SpillFile
        private var buffer: UnsafeMutableRawPointer
        private var capacity: Int
        /// File offset of `buffer[0]`, and the bytes read from there.
        private var offset = 0
        private var filled = 0

        /// The file's generation the image was written in: a file written over since gives
        /// a read failure, never another image's bytes.
        let generation: Int

        init(_ file: SpillFile, generation: Int, capacity: Int) {
            self.file = file
            self.generation = generation
            self.capacity = capacity
            buffer = .allocate(byteCount: capacity, alignment: 16)
        }

        deinit { buffer.deallocate() }

        /// Bytes `start..<end` of the file (valid until the next call); nil on a read error.
        func slice(_ start: Int, _ end: Int) -> UnsafeMutableRawBufferPointer? {
            guard file.generation == generation else { return nil }
            if start < offset || end > offset + filled {
                let kept = start >= offset && start < offset + filled ? offset + filled - start : 0
                if kept > 0 { buffer.copyMemory(from: buffer + (start - offset), byteCount: kept) }
                if end - start > capacity {
                    let bigger = UnsafeMutableRawPointer.allocate(byteCount: end - start, alignment: 16)
                    bigger.copyMemory(from: buffer, byteCount: kept)
                    buffer.deallocate()
                    buffer = bigger
                    capacity = end - start
                }
                offset = start
                filled = kept
                let want = min(capacity, file.size - offset)
                guard want >= end - start, file.read(at: offset + filled, count: want - filled, into: buffer + filled) else {
                    filled = 0
                    return nil
                }
                filled = want
            }
            return UnsafeMutableRawBufferPointer(start: buffer + (start - offset), count: end - start)
        }
    }

    public func encoded() -> [UInt8] {
        Self.encode(semantics: semantics, clock: clock, newest: newest, positions: positions, links: links,
                    images: [WindowImage(windows)]).bytes
    }

    /// The file for the shards' window images. The app tables are merged and each record's
    /// app index is rewritten to the merged table; each bucket's records are checksummed.
    public static func encode(semantics: Semantics, clock: Int64, newest: Int64, positions: [SourcePosition] = [],
                              links: [IdentityLinks.Link] = [], images: [WindowImage]) -> Encoded {
        var out = ByteBuffer(capacity: 4_096)
        magic.withUnsafeBytes { out.append($0) }
        out.putLittleEndian(version)
        let e = semantics.engine
        for v in [e.csw, e.conversation, e.fep, e.pmpFrom, semantics.lateness] { out.putLittleEndian(v) }
        out.reserve(1)
        out.put(semantics.mode == .event ? 1 : 0)
        out.reserve(1)
        out.put(semantics.positions ? 1 : 0)
        out.putLittleEndian(UInt32(e.warnLeads.count))
        for l in e.warnLeads { out.putLittleEndian(l) }
        out.putLittleEndian(clock)
        out.putLittleEndian(newest)
        var index: [String: UInt32] = [:]
        var apps: [String] = []
        let remaps = images.map { image in
            image.apps.map { app -> UInt32 in
                if let i = index[app] { return i }
                index[app] = UInt32(apps.count)
                apps.append(app)
                return UInt32(apps.count - 1)
            }
        }
        out.putLittleEndian(UInt32(apps.count))
        func putString(_ s: String) {
            EventText.withBytes(s) { b in
                out.putLittleEndian(UInt32(b.count))
                out.append(b)
            }
        }
        for a in apps { putString(a) }
        out.putLittleEndian(UInt32(positions.count))
        for p in positions.sorted(by: { $0.source.utf8.lexicographicallyPrecedes($1.source.utf8) }) {
            putString(p.source)
            putString(p.position)
        }
        out.putLittleEndian(UInt32(links.count))
        for link in links {
            for field in [link.app, link.phone, link.user] {
                out.putLittleEndian(UInt32(field.count))
                field.withUnsafeBytes { out.append($0) }
            }
            out.putLittleEndian(link.last)
        }
        let count = images.reduce(0) { $0 + $1.count }
        out.putLittleEndian(Int64(count))
        let bits = bucketBits(windows: count)
        out.reserve(1)
        out.put(UInt8(bits))
        out.putLittleEndian(checksum(out.bytes, seed: 0))
        var images = images
        var pending: [[UInt32]?] = Array(repeating: nil, count: images.count)
        for (i, remap) in remaps.enumerated() where remap.enumerated().contains(where: { UInt32($0.offset) != $0.element }) {
            if images[i].spill != nil {
                pending[i] = remap
            } else {
                images[i].records.withUnsafeMutableBytes { rewriteApps($0, remap) }
            }
        }
        var file = Encoded(head: [], images: images, remaps: pending, bits: bits)
        let indexStart = out.count
        var end: UInt64 = 0
        var bucket = 0
        var sum = Checksum(seed: 0)
        func close(through j: Int) {
            while bucket < j {
                out.putLittleEndian(end)
                out.putLittleEndian(sum.value)
                bucket += 1
                sum = Checksum(seed: UInt64(bucket))
            }
        }
        let read = file.forEachSlice { j, slice in
            close(through: j)
            sum.add(slice)
            end += UInt64(slice.count)
        }
        close(through: 1 << bits)
        file.readFailed = !read
        out.putLittleEndian(checksum(UnsafeRawBufferPointer(rebasing: out.bytes[indexStart...]), seed: 1))
        file.head = out.array
        return file
    }

    /// Rewrites the app index of every record in `records` (whole records) in place.
    static func rewriteApps(_ records: UnsafeMutableRawBufferPointer, _ remap: [UInt32]) {
        var pos = 0
        while pos < records.count {
            let app = records.loadUnaligned(fromByteOffset: pos + WindowImage.appOffset, as: UInt32.self)
            records.storeBytes(of: remap[Int(UInt32(littleEndian: app))].littleEndian,
                               toByteOffset: pos + WindowImage.appOffset, as: UInt32.self)
            pos += WindowImage.fixedBytes
            for _ in 0..<4 { pos += 4 + Int(UInt32(littleEndian: records.loadUnaligned(fromByteOffset: pos, as: UInt32.self))) }
        }
    }

    /// A block checksum, fed piece by piece: FNV-style multiply-xor over the 64-bit words of
    /// the block, then its last bytes one by one and its length. The seed (a bucket's number)
    /// makes equal blocks in different places sum differently.
    struct Checksum {
        private var h: UInt64
        private var pending: UInt64 = 0
        private var pendingCount = 0
        private var total = 0

        init(seed: UInt64 = 0) { h = 0xcbf2_9ce4_8422_2325 ^ seed &* 0x9E37_79B9_7F4A_7C15 }

        @inline(__always)
        private mutating func mix(_ word: UInt64) {
            h = (h ^ word) &* 0x0000_0100_0000_01B3
            h ^= h >> 29
        }

        mutating func add(_ bytes: UnsafeRawBufferPointer) {
            let n = bytes.count
            total += n
            var i = 0
            if pendingCount > 0 {
                while pendingCount < 8, i < n {
                    pending |= UInt64(bytes[i]) << (8 * UInt64(pendingCount))
                    pendingCount += 1
                    i += 1
                }
                guard pendingCount == 8 else { return }
                mix(pending)
                pending = 0
                pendingCount = 0
            }
            while i + 8 <= n {
                mix(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
                i += 8
            }
            while i < n {
                pending |= UInt64(bytes[i]) << (8 * UInt64(pendingCount))
                pendingCount += 1
                i += 1
            }
        }

        var value: UInt64 {
            var v = h
            for k in 0..<pendingCount { v = (v ^ (pending >> (8 * UInt64(k)) & 0xFF)) &* 0x0000_0100_0000_01B3 }
            return v ^ UInt64(total)
        }
    }

    /// The checksum of one block (see `Checksum`).
    static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        var sum = Checksum(seed: seed)
        sum.add(bytes)
        return sum.value
    }
}
