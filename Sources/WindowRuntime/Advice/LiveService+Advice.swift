import WindowCore

extension LiveService {
    /// `GET /v1/advice?app_id=A&contact=C[&at=T][&category=CAT]` (SPEC section 13): asked of
    /// the shard that owns the contact, on the same path as `/v1/windows` (read your writes);
    /// the advice is made from the windows it lists, open at T (default: the shard's clock).
    func advice(_ request: HTTPRequest, _ reply: @escaping @Sendable (HTTPResponse) -> Void) {
        guard let app = request.parameter("app_id") else { return reply(.error(400, "missing parameter app_id (it may be empty: app_id=)")) }
        guard let contact = request.parameter("contact") else { return reply(.error(400, "missing parameter contact")) }
        var at: Int64?
        if let text = request.parameter("at") {
            guard let t = Timestamp.parse(text) else { return reply(.error(400, "at '\(text)' is not an RFC 3339 time")) }
            at = t
        }
        var only: MessageCategory?
        if let text = request.parameter("category") {
            guard let c = MessageCategory.named(text) else {
                return reply(.error(400, "category must be service, utility, marketing or authentication, not '\(text)'"))
            }
            only = c
        }
        let lookup = ContactLookup.key(app: app, identity: contact, links: directory.link)
        guard !lookup.contact.isEmpty else { return reply(.error(400, "contact is empty")) }
        guard metrics.ready else { return reply(.error(503, "not ready: the state is still loading")) }
        let query = WindowQuery(lookup, at: at)
        let eras = self.eras, asked = at, category = only
        let k = RoutingHash.partition(query.contactHash, of: shards.count)
        let sent = shards[k](.query(query) { answer, now in
            let advice = Advice(windows: answer.windows, eras: eras, at: asked ?? answer.clock)
            var out = ByteBuffer(capacity: 1_536)
            advice.encode(app: lookup.app, contact: lookup.contact, phone: lookup.phone, since: asked ?? now, only: category, into: &out)
            out.append("\n")
            reply(HTTPResponse(status: 200, body: out.array))
        })
        if !sent { reply(.error(503, "shutting down")) }
    }
}
