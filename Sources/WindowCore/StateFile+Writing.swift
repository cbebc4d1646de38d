/// Writing a state file (the format is described in `StateFile.swift`).
extension StateFile {
    /// A file ready to write: its header and index, and the shards' records (app indices
    /// already rewritten to the merged table), in bucket order by `forEachPiece`.
    public struct Encoded {
        var head: [UInt8]
        var images: [WindowImage]
        var bits: Int

        /// The file's bytes in order, as pieces (no copy of the records is made).
        public func forEachPiece(_ body: (UnsafeRawBufferPointer) -> Void) {
            head.withUnsafeBytes(body)
            for j in 0..<(1 << bits) { forEachSlice(bucket: j, body) }
        }

        /// The records of file bucket `j`, image by image.
        func forEachSlice(bucket j: Int, _ body: (UnsafeRawBufferPointer) -> Void) {
            let shift = maxBucketBits - bits
            let first = j << shift, last = ((j + 1) << shift) - 1
            for image in images {
                let start = first == 0 ? 0 : image.bucketEnds[first - 1], end = image.bucketEnds[last]
                guard end > start else { continue }
                image.records.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
            }
        }

        /// The whole file in one array (tests, tools).
        public var bytes: [UInt8] {
            var out: [UInt8] = []
            forEachPiece { out.append(contentsOf: $0) }
            return out
        }
    }

    public func encoded() -> [UInt8] {
        Self.encode(semantics: semantics, clock: clock, newest: newest, images: [WindowImage(windows)]).bytes
    }

    /// The file for the shards' window images. The app tables are merged and each record's
    /// app index is rewritten to the merged table; each bucket's records are checksummed.
    public static func encode(semantics: Semantics, clock: Int64, newest: Int64, images: [WindowImage]) -> Encoded {
        var out = ByteBuffer(capacity: 4_096)
        magic.withUnsafeBytes { out.append($0) }
        out.putLittleEndian(version)
        let e = semantics.engine
        for v in [e.csw, e.conversation, e.fep, e.pmpFrom, semantics.lateness] { out.putLittleEndian(v) }
        out.reserve(1)
        out.put(semantics.mode == .event ? 1 : 0)
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
        for a in apps {
            EventText.withBytes(a) { b in
                out.putLittleEndian(UInt32(b.count))
                out.append(b)
            }
        }
        let count = images.reduce(0) { $0 + $1.count }
        out.putLittleEndian(Int64(count))
        let bits = bucketBits(windows: count)
        out.reserve(1)
        out.put(UInt8(bits))
        out.putLittleEndian(checksum(out.bytes, seed: 0))
        var images = images
        for (i, remap) in remaps.enumerated() where remap.enumerated().contains(where: { UInt32($0.offset) != $0.element }) {
            rewriteApps(&images[i], remap)
        }
        var file = Encoded(head: [], images: images, bits: bits)
        let indexStart = out.count
        var end: UInt64 = 0
        for j in 0..<(1 << bits) {
            var sum = Checksum(seed: UInt64(j))
            file.forEachSlice(bucket: j) { slice in
                sum.add(slice)
                end += UInt64(slice.count)
            }
            out.putLittleEndian(end)
            out.putLittleEndian(sum.value)
        }
        out.putLittleEndian(checksum(UnsafeRawBufferPointer(rebasing: out.bytes[indexStart...]), seed: 1))
        file.head = out.array
        return file
    }

    /// Rewrites the app index of every record of `image` in place.
    private static func rewriteApps(_ image: inout WindowImage, _ remap: [UInt32]) {
        let count = image.count
        image.records.withUnsafeMutableBytes { base in
            var pos = 0
            for _ in 0..<count {
                let app = base.loadUnaligned(fromByteOffset: pos + WindowImage.appOffset, as: UInt32.self)
                base.storeBytes(of: remap[Int(UInt32(littleEndian: app))].littleEndian,
                                toByteOffset: pos + WindowImage.appOffset, as: UInt32.self)
                pos += WindowImage.fixedBytes
                for _ in 0..<4 { pos += 4 + Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: pos, as: UInt32.self))) }
            }
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
