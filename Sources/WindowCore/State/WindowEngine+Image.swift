#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension WindowEngine {
    /// Every open and remembered window of this shard, encoded for a state file.
    public func windowImage() -> WindowImage { image(spillingTo: nil)! }

    /// The same image with its records written to `spill` instead of memory; nil if
    /// writing failed.
    public func windowImage(spillingTo spill: SpillFile) -> WindowImage? { image(spillingTo: spill) }

    private func image(spillingTo spill: SpillFile?) -> WindowImage? {
        var image = WindowImage()
        image.apps = apps.map { text.string($0) }
        var slots: [Int32] = []
        slots.reserveCapacity(windows.count - freeWindows.count + contactIndex.count)
        for c in services.indices where services[c].present { slots.append(~Int32(c)) }
        for i in windows.indices where windows[i].contact >= 0 { slots.append(Int32(i)) }  // free slots have none
        func describe(_ i: Int) -> (bucket: Int, size: Int) {
            let w = self[window: slots[i]]
            let textBytes: Int = text.bytes(contacts[Int(w.contact)].contact).count + contactIDs.bytes(w.contactID).count
                + text.bytes(category(w)).count + text.bytes(conversationID(w)).count
            return (StateFile.fineBucket(contactHash: contactHash(w.contact)), WindowImage.recordBytes(textBytes: textBytes))
        }
        func write(_ i: Int, _ out: inout WindowImage.Writer) {
            let w = self[window: slots[i]]
            let c = contacts[Int(w.contact)]
            out.record(kind: w.kind, pmp: w.pmp, open: w.open, warnDone: w.warnDone, app: c.app,
                       opened: w.opened, expires: w.expires, last: last(w), contact: text.bytes(c.contact),
                       contactID: contactIDs.bytes(w.contactID), category: text.bytes(category(w)),
                       conversationID: text.bytes(conversationID(w)))
        }
        if let spill {
            return image.fill(count: slots.count, spillingTo: spill, describe: describe, write: write) ? image : nil
        }
        image.fill(count: slots.count, describe: describe, write: write)
        return image
    }
}
