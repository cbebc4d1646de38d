/// The stable hashes of contact keys and keyed windows: routing to shards and the engine's
/// indexes. Word-at-a-time (`WordHash`), the same in every process and every release that
/// reads the same state-file format (state files hold bytes, never these hashes).
public enum RoutingHash {
    /// The hash of a contact key (app_id, contact).
    @inlinable
    public static func contact(app: UnsafeBufferPointer<UInt8>, contact: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h = WordHash()
        h.add(UnsafeRawBufferPointer(app))
        h.add(UnsafeRawBufferPointer(contact))
        return h.mixed
    }

    /// The shard, or queue partition, of a contact among `count`: the one routing rule, for
    /// the shards and for `windowkeeper key --partitions`.
    @inlinable
    public static func partition(_ contactHash: UInt64, of count: Int) -> Int {
        Int(truncatingIfNeeded: contactHash % UInt64(count))
    }

    /// The hash a keyed window is indexed by: the contact's hash and the conversation id.
    @inlinable
    public static func conversation(contactHash: UInt64, id: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h = WordHash()
        h.add(contactHash)
        h.add(UnsafeRawBufferPointer(id))
        return h.mixed
    }
}
