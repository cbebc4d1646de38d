import WindowCore

/// What a shard's inbox (`ShardInbox`) carries, in the order it was sent.
public enum ShardMessage: Sendable {
    case batch(ShardBatch)
    /// End of the stream; event mode moves the clock to the given value first.
    case finish(clock: Int64?)
    /// A checkpoint: the shard's windows after everything sent before this message, and
    /// how long (ns) the shard spent taking them. With a directory, the records of a shard
    /// holding at least `atLeast` windows are written to an unnamed file there instead of
    /// memory (to memory when that fails).
    case snapshot(spillTo: String?, atLeast: Int, @Sendable (WindowImage, UInt64) -> Void)
    /// A live query (`--listen`), answered after everything sent before it: the answer and
    /// the time `remaining_s` counts from (now in wall mode, C in event mode).
    case query(WindowQuery, @Sendable (WindowAnswer, Int64) -> Void)
}
