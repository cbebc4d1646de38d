import Foundation
import WindowCore

extension StatusCommand {
    /// `status --state FILE --advice --app A --contact C [--at T] [--pricing-eras FILE]`: the
    /// JSON object of `GET /v1/advice?app_id=A&contact=C&at=T`, from the contact's windows
    /// in the file open at T (default now), `remaining_s` counted from T. Only the header,
    /// the index and the contact's bucket are read.
    static func advice(_ q: Query, _ file: MappedFile, now: Int64) -> Int32 {
        let t = q.at ?? now
        var lookup = ContactLookup.key(app: q.app ?? "", identity: q.contactGiven ?? "")
        var windows: [SavedWindow] = []
        let eras: PricingEras
        do {
            let header = try StateFile.openHeader(file.bytes)
            if !header.links.isEmpty {
                var links = IdentityLinks(horizon: .max)
                for link in header.links { links.restore(link) }
                lookup = ContactLookup.key(app: q.app ?? "", identity: q.contactGiven ?? "", links: links.link)
            }
            if let given = q.eras {
                eras = given
            } else {
                do throws(PricingEras.Problem) {
                    eras = try PricingEras.standard(pmpFrom: header.semantics.engine.pmpFrom)
                } catch {
                FileHandle.standardError.write(Data("windowkeeper status: \(error.message)\n".utf8))
                    return 2
                }
            }
            let apps = header.apps
            try lookup.contact.withUnsafeBufferPointer { (c: UnsafeBufferPointer<UInt8>) throws(StateFile.LoadError) in
                try StateFile.forEachWindow(file.bytes, header, contact: c) { v in
                    guard v.open, c.elementsEqual(v.contact), apps[v.app].utf8.elementsEqual(lookup.app) else { return }
                    windows.append(SavedWindow(v, app: apps[v.app]))
                }
            }
        } catch {
            FileHandle.standardError.write(Data("windowkeeper status: \(q.statePath): \(error.description)\n".utf8))
            return 2
        }
        var out = ByteBuffer(capacity: 1_536)
        Advice(windows: windows, eras: eras, at: t).encode(app: lookup.app, contact: lookup.contact, phone: lookup.phone, since: t, into: &out)
        out.append("\n")
        FileHandle.standardOutput.write(Data(bytes: out.base, count: out.count))
        return 0
    }
}
