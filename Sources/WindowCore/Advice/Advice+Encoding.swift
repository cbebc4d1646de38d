extension Advice {
    /// The advice as one JSON object, keys in this fixed order: `app_id`, `contact`, `phone`
    /// (only when one is linked), `as_of`, `era` (`id`, `from`; null when no era covers T),
    /// `free_form` (`allowed`, `until`, `remaining_s`, `because`), `free_entry_point` (`open`,
    /// `until`), `categories` (`service`, `utility`, `marketing`, `authentication`, each
    /// `sendable`, `cost`, `why`), `next_change` (`at`, `what`; null when nothing changes).
    /// Values that do not apply are null, so every answer has every key. `remaining_s` is in
    /// whole seconds from `since`, floored (as `/v1/windows`). `asOf` `Int64.min`: null.
    /// With `only`, `categories` holds that category alone.
    public func encode(app: [UInt8], contact: [UInt8], phone: [UInt8]?, since: Int64, only: MessageCategory? = nil,
                       into out: inout ByteBuffer) {
        out.append("{\"app_id\":")
        app.withUnsafeBytes { EventEncoder.appendString($0, &out) }
        out.append(",\"contact\":")
        contact.withUnsafeBytes { EventEncoder.appendString($0, &out) }
        if let phone, !phone.isEmpty {
            out.append(",\"phone\":")
            phone.withUnsafeBytes { EventEncoder.appendString($0, &out) }
        }
        out.append(",\"as_of\":")
        time(asOf == .min ? nil : asOf, &out)
        out.append(",\"era\":")
        if let era = answer.era {
            out.append("{\"id\":")
            EventEncoder.appendString(era.id, &out)
            out.append(",\"from\":")
            EventEncoder.appendTime(era.from, &out)
            out.append("}")
        } else {
            out.append("null")
        }
        out.append(",\"free_form\":{\"allowed\":")
        if let w = answer.freeForm {
            out.append("true,\"until\":")
            EventEncoder.appendTime(w.expires, &out)
            out.append(",\"remaining_s\":")
            let left = w.expires - since
            out.appendDecimal(left >= 0 ? left / 1_000 : -((-left + 999) / 1_000))
            out.append(",\"because\":\"customer_service\"}")
        } else {
            out.append("false,\"until\":null,\"remaining_s\":null,\"because\":null}")
        }
        out.append(",\"free_entry_point\":{\"open\":")
        out.append(answer.freeEntryPoint == nil ? "false" : "true")
        out.append(",\"until\":")
        time(answer.freeEntryPoint?.expires, &out)
        out.append("},\"categories\":{")
        for c in MessageCategory.allCases where only == nil || only == c {
            let a = answer.categories[c.rawValue]
            if c.rawValue > 0 && only == nil { out.append(",") }
            EventEncoder.appendString(c.name, &out)
            out.append(a.sendable ? ":{\"sendable\":true,\"cost\":" : ":{\"sendable\":false,\"cost\":")
            EventEncoder.appendString(a.cost.rawValue, &out)
            out.append(",\"why\":")
            EventEncoder.appendString(a.why, &out)
            out.append("}")
        }
        out.append("},\"next_change\":")
        if let n = nextChange {
            out.append("{\"at\":")
            EventEncoder.appendTime(n.at, &out)
            out.append(",\"what\":")
            EventEncoder.appendString(n.what, &out)
            out.append("}}")
        } else {
            out.append("null}")
        }
    }

    private func time(_ t: Int64?, _ out: inout ByteBuffer) {
        if let t { EventEncoder.appendTime(t, &out) } else { out.append("null") }
    }
}
