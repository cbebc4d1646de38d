import WindowCore
import WindowRuntime

/// A Meta webhook body of one status against a Sinch receipt line of the same size (both
/// padded to one length with a field neither reads): records per second of
/// `RecordDecoder.decode`, the two measured in alternation in every run, so the ratio of
/// each run compares like with like on a shared machine.
func metaDecodeRow(runs: Int) {
    let sinch = #"{"app_id":"01EB37HMH1M6SV18BSNS3G135H","accepted_time":"2024-05-16T09:00:02.000Z","event_time":"2024-05-16T09:00:01.123Z","project_id":"c36f3d3d-1513-2edd-ae42-11995557ff61","message_delivery_report":{"message_id":"01HXOUT","status":"DELIVERED","channel_identity":{"channel":"WHATSAPP","identity":"+46732001122","app_id":""},"contact_id":"01HXCT000001","processing_mode":"CONVERSATION"},"message_metadata":"{\"pricing_category\":\"MARKETING\",\"whatsapp_conversation_id\":\"ebdaa2e9da5d1e0a2c1e6a1ddf26d2f8\",\"pricing_model\":\"CBP\"}""#
    let meta = #"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"statuses":[{"id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA","status":"delivered","timestamp":"1749416500","recipient_id":"16505551234","conversation":{"id":"ebdaa2e9da5d1e0a2c1e6a1ddf26d2f8","expiration_timestamp":"1749502900","origin":{"type":"marketing"}},"pricing":{"billable":true,"pricing_model":"CBP","category":"marketing"}}]},"field":"messages"}]}]"#
    let length = max(sinch.utf8.count, meta.utf8.count) + 16
    func padded(_ head: String) -> [UInt8] {
        let pad = length - head.utf8.count - 15
        return Array((head + #","padding":""# + String(repeating: "x", count: pad) + #""}"#).utf8)
    }
    let sinchLine = padded(sinch), metaLine = padded(meta)
    precondition(sinchLine.count == metaLine.count)
    let lines = 200_000
    func decodeAll(_ line: [UInt8], expectWebhook: Bool) -> (seconds: Double, records: Int) {
        var decoder = RecordDecoder()
        var records = 0
        let t0 = System.monotonicNanos()
        line.withUnsafeBufferPointer { l in
            for _ in 0..<lines {
                decoder.resetArena()
                switch decoder.decode(l) {
                case .record: records += 1; blackHole &+= decoder.record.contactHash
                case .webhook(let n): records += n; blackHole &+= decoder.items[0].record.contactHash
                default: break
                }
            }
        }
        let seconds = Double(System.monotonicNanos() - t0) / 1e9
        precondition(records == lines, expectWebhook ? "the Meta body must give one record" : "the Sinch line must give one record")
        return (seconds, records)
    }
    _ = decodeAll(sinchLine, expectWebhook: false)
    _ = decodeAll(metaLine, expectWebhook: true)
    var sinchRates: [Double] = [], metaRates: [Double] = [], ratios: [Double] = []
    for _ in 0..<runs {
        let s = decodeAll(sinchLine, expectWebhook: false), m = decodeAll(metaLine, expectWebhook: true)
        sinchRates.append(Double(s.records) / s.seconds / 1e6)
        metaRates.append(Double(m.records) / m.seconds / 1e6)
        ratios.append(metaRates.last! / sinchRates.last!)
    }
    func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
    func spread(_ v: [Double]) -> String { "[\(fmt(v.min()!))–\(fmt(v.max()!))]" }
    print("Meta body of one status, \(length) B          \(fmt(median(metaRates))) M records/s \(spread(metaRates)); "
        + "Sinch receipt, same size \(fmt(median(sinchRates))) M records/s \(spread(sinchRates)); ratio \(fmt(median(ratios), 2)) \(spread(ratios)), \(runs) runs")
    record("decode, Meta body of one status (\(length) B), one thread",
           "\(fmt(median(metaRates))) M records/s \(spread(metaRates)), ratio \(fmt(median(ratios), 2)) \(spread(ratios))",
           "Sinch receipt line of the same size \(fmt(median(sinchRates))) M records/s \(spread(sinchRates))")
}
