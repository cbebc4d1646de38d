import WindowCore

/// The endpoints of `--listen`: `/v1/windows` and `/v1/advice` (answered by the shard that
/// owns the contact, in order with its batches), `/metrics`, `/healthz`, `/readyz`.
struct LiveService: Sendable {
    /// Sends a message to shard k; false once that shard takes no more.
    let shards: [@Sendable (ShardMessage) -> Bool]
    let metrics: LiveMetrics
    let clock: any WallClock
    /// The pricing-era table of `/v1/advice`.
    var eras = try! PricingEras.standard()
    /// The links between phones and user ids: a contact is asked for as either.
    var directory = LinkDirectory()

    static let allow = [("Allow", "GET, HEAD")]

    func handle(_ request: HTTPRequest, reply: @escaping @Sendable (HTTPResponse) -> Void) {
        let known = ["/v1/windows", "/v1/advice", "/metrics", "/healthz", "/readyz"]
        guard known.contains(request.path) else { return reply(.error(404, "no such path: \(request.path)")) }
        guard request.method == "GET" || request.method == "HEAD" else {
            return reply(.error(405, "method \(request.method) is not allowed", headers: Self.allow))
        }
        switch request.path {
        case "/healthz":
            reply(HTTPResponse(status: 200, body: Array("{\"status\":\"ok\"}\n".utf8)))
        case "/readyz":
            let (ready, status) = metrics.readiness
            reply(HTTPResponse(status: ready ? 200 : 503, body: Array("{\"status\":\"\(status)\"}\n".utf8)))
        case "/metrics":
            reply(HTTPResponse(status: 200, body: metrics.render(now: clock.now()), contentType: "text/plain; version=0.0.4; charset=utf-8"))
        case "/v1/advice":
            advice(request, reply)
        default:
            windows(request, reply)
        }
    }

    private func windows(_ request: HTTPRequest, _ reply: @escaping @Sendable (HTTPResponse) -> Void) {
        guard let app = request.parameter("app_id") else { return reply(.error(400, "missing parameter app_id (it may be empty: app_id=)")) }
        guard let contact = request.parameter("contact") else { return reply(.error(400, "missing parameter contact")) }
        var kind: WindowKind?
        if let w = request.parameter("window") {
            guard let k = WindowKind.named(w) else {
                return reply(.error(400, "window must be customer_service, conversation or free_entry_point, not '\(w)'"))
            }
            kind = k
        }
        let query = WindowQuery(app: app, identity: contact, kind: kind, category: request.parameter("category"), links: directory.link)
        guard !query.contact.isEmpty else { return reply(.error(400, "contact is empty")) }
        guard metrics.ready else { return reply(.error(503, "not ready: the state is still loading")) }
        let k = RoutingHash.partition(query.contactHash, of: shards.count)
        let sent = shards[k](.query(query) { answer, now in
            var out = ByteBuffer(capacity: 512)
            answer.encode(query, now: now, into: &out)
            out.append("\n")
            reply(HTTPResponse(status: 200, body: out.array))
        })
        if !sent { reply(.error(503, "shutting down")) }
    }
}
