#!/usr/bin/env python3
"""GET /v1/advice end to end (SPEC section 13), with curl as the client.

1. Event mode, Sinch callbacks (per-message pricing, June 2026) and Meta webhook bodies
   (conversation-based pricing, December 2024), each with --serve-after-eof: the advice at
   several instants (`at=`), and `status --advice` on the state written at end of input gives
   the same bytes for the same `at`.
2. Wall mode, Sinch and Meta lines stamped now: free-form allowed with the window the feed
   announced, the era of today, bad requests answered 400.

    python3 Tests/Integration/advice_queries.py .build/release
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import live_queries as lq  # noqa: E402  (its helpers: start, curl, check, iso)

check, curl, iso = lq.check, lq.curl, lq.iso


def ms(text):
    return int(time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone) * 1000


def sinch_inbound(contact, t, app="APP"):
    return {"app_id": app, "event_time": iso(t),
            "message": {"channel_identity": {"channel": "WHATSAPP", "identity": contact}, "contact_id": "C-" + contact}}


def sinch_receipt(contact, t, meta, app="APP"):
    return {"app_id": app, "event_time": iso(t), "message_metadata": json.dumps(meta),
            "message_delivery_report": {"status": "DELIVERED", "channel_identity": {"channel": "WHATSAPP", "identity": contact}}}


def meta_body(phone_number_id, messages=(), statuses=()):
    return {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"phone_number_id": phone_number_id},
        "messages": list(messages), "statuses": list(statuses)}}]}]}


def meta_message(phone, t):
    return {"from": phone, "id": f"wamid.m{t}", "timestamp": str(t // 1000), "type": "text", "text": {"body": "hi"}}


def meta_status(phone, t, category, model, conversation=None, kind="regular"):
    s = {"id": f"wamid.s{t}", "status": "delivered", "timestamp": str(t // 1000), "recipient_id": phone,
         "pricing": {"billable": True, "pricing_model": model, "category": category, "type": kind}}
    if conversation:
        s["conversation"] = {"id": conversation, "origin": {"type": category}}
    return s


def replay(wk, tmp, name, lines, asks):
    """Replays `lines` in event mode, asks each (contact, at) live and from the state file."""
    state = os.path.join(tmp, name + ".state")
    feed = os.path.join(tmp, name + ".ndjson")
    with open(feed, "w") as f:
        f.writelines(json.dumps(l) + "\n" for l in lines)
    answers = {}
    with open(feed, "rb") as f:
        p, port, _ = lq.start(wk, ["--clock", "event", "--serve-after-eof", "--state", state], stdin=f)
        out = []
        reader = threading.Thread(target=lambda: out.extend(p.stdout.read().decode().splitlines()), daemon=True)
        reader.start()
        check(p.serving.wait(60) and os.path.exists(state), f"{name}: state written at end of input")
        for app, contact, at in asks:
            code, body = curl(port, f"/v1/advice?app_id={app}&contact={contact}&at={at}")
            check(code == 200, f"{name}: /v1/advice {contact} at {at}: 200")
            answers[(app, contact, at)] = body
            offline = subprocess.run([wk, "status", "--state", state, "--advice", "--app", app,
                                      "--contact", contact.replace("%2B", "+").replace("%20", " "), "--at", at],
                                     capture_output=True, text=True)
            check(offline.returncode == 0 and offline.stdout == body,
                  f"{name}: status --advice on the state equals the live answer at {at}")
        p.send_signal(15)
        check(p.wait(20) == 0, f"{name}: exit 0 on SIGTERM")
        reader.join(5)
    return {k: json.loads(v) for k, v in answers.items()}, out


def costs(a):
    return {c: ("yes" if v["sendable"] else "no") + "/" + v["cost"] for c, v in a["categories"].items()}


def event_mode(wk, tmp):
    t0 = ms("2026-06-01T12:00:00Z")
    lines = [sinch_inbound("+46 70 111 22 33", t0),
             sinch_receipt("46701112233", t0 + 1000, {"pricing_category": "REFERRAL_CONVERSION", "pricing_model": "PMP"}),
             sinch_inbound("46709999999", t0 + 3_600_000)]
    asks = [("APP", "%2B46%2070%20111%2022%2033", at) for at in
            ("2026-06-01T13:00:00Z", "2026-06-02T12:00:00Z", "2026-06-04T12:00:01Z", "2026-10-01T00:00:00Z")]
    answers, _ = replay(wk, tmp, "sinch", lines, asks)
    a = [answers[k] for k in asks]
    check(a[0]["contact"] == "46701112233" and a[0]["era"]["id"] == "pmp-2025-07" and a[0]["free_form"]["allowed"]
          and a[0]["free_form"]["until"] == "2026-06-02T12:00:00.000Z" and a[0]["free_form"]["remaining_s"] == 82800
          and a[0]["free_entry_point"] == {"open": True, "until": "2026-06-04T12:00:01.000Z"}
          and set(costs(a[0]).values()) == {"yes/free"}, f"sinch: inside both windows everything is free: {a[0]}")
    check(a[0]["next_change"] == {"at": "2026-06-02T12:00:00.000Z", "what": "customer_service window expires"},
          f"sinch: next change is the customer service window's expiry: {a[0]['next_change']}")
    check(not a[1]["free_form"]["allowed"] and costs(a[1])["service"] == "no/free" and costs(a[1])["marketing"] == "yes/free",
          f"sinch: after the customer service window, the free entry point still makes templates free: {costs(a[1])}")
    check(costs(a[2]) == {"service": "no/free", "utility": "yes/charged", "marketing": "yes/charged", "authentication": "yes/charged"}
          and a[2]["next_change"]["what"] == "pricing era pmp-2026-10 begins", f"sinch: no window: templates charged: {costs(a[2])}")
    check(a[3]["era"]["id"] == "pmp-2026-10" and costs(a[3])["service"] == "no/free_quota", f"sinch: October 2026 era: {a[3]['era']}")

    # Meta bodies, conversation-based pricing (cbp-2024-11): a UTILITY conversation and a message.
    t1 = ms("2024-12-02T09:00:00Z")
    lines = [meta_body("PNID", messages=[meta_message("46702223344", t1)]),
             meta_body("PNID", statuses=[meta_status("46702223344", t1 + 60_000, "utility", "CBP", conversation="conv-u1")])]
    asks = [("PNID", "46702223344", at) for at in ("2024-12-02T10:00:00Z", "2024-12-03T09:00:30Z", "2024-12-03T09:01:00Z")]
    answers, _ = replay(wk, tmp, "meta", lines, asks)
    a = [answers[k] for k in asks]
    check(a[0]["era"]["id"] == "cbp-2024-11" and costs(a[0]) == {"service": "yes/free", "utility": "yes/free",
                                                                 "marketing": "yes/charged", "authentication": "yes/charged"},
          f"meta: inside a UTILITY conversation utility is free, marketing opens a charged one: {costs(a[0])}")
    check(a[0]["next_change"] == {"at": "2024-12-03T09:00:00.000Z", "what": "customer_service window expires"},
          f"meta: next change: {a[0]['next_change']}")
    check(not a[1]["free_form"]["allowed"] and costs(a[1])["utility"] == "yes/free"
          and a[1]["next_change"]["at"] == "2024-12-03T09:01:00.000Z", f"meta: the conversation outlives the window: {a[1]}")
    check(costs(a[2])["utility"] == "yes/charged" and a[2]["next_change"] is not None
          and a[2]["next_change"]["what"] == "pricing era pmp-2025-07 begins", f"meta: after it, charged: {a[2]}")


def wall_mode(wk):
    p, port, _ = lq.start(wk, [], stdin=subprocess.PIPE)
    now = int(time.time() * 1000)
    p.stdin.write((json.dumps(sinch_inbound("+46 73 555 00 11", now - 60_000)) + "\n").encode())
    p.stdin.write((json.dumps(meta_body("PNID", messages=[meta_message("46735550022", now - 1000)])) + "\n").encode())
    p.stdin.flush()
    opened = [json.loads(p.stdout.readline()) for _ in range(2)]
    check(all(e["event"] == "window_opened" for e in opened), "wall: two window_opened written")
    for e in opened:
        code, body = curl(port, f"/v1/advice?app_id={e['app_id']}&contact={e['contact']}")
        a = json.loads(body)
        left = a["free_form"]["remaining_s"] if a["free_form"]["allowed"] else -1
        check(code == 200 and a["free_form"]["until"] == e["expires_at"] and 86_000 < left <= 86_400
              and a["categories"]["service"]["sendable"], f"wall: {e['app_id']}/{e['contact']}: free-form until {e['expires_at']}: {body}")
        check(a["era"] is not None and a["era"]["id"].startswith("pmp-"), f"wall: today's era {a['era']}")
    code, body = curl(port, "/v1/advice?app_id=APP&contact=46000")
    a = json.loads(body)
    check(code == 200 and not a["free_form"]["allowed"] and a["categories"]["marketing"]["cost"] == "charged",
          "wall: a person never seen: no free-form, templates charged")
    for target in ("/v1/advice?app_id=APP", "/v1/advice?app_id=APP&contact=", "/v1/advice?contact=46",
                   "/v1/advice?app_id=APP&contact=46&at=tomorrow", "/v1/advice?app_id=APP&contact=46&category=promo"):
        code, body = curl(port, target)
        check(code == 400 and "error" in json.loads(body), f"wall: {target}: 400 {body}")
    p.stdin.close()
    check(p.wait(20) == 0, "wall: exit 0 at end of input")


def main():
    bin_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(lq.ROOT, ".build", "release"))
    wk = os.path.join(bin_dir, "windowkeeper")
    with tempfile.TemporaryDirectory(prefix="wk-advice-") as tmp:
        event_mode(wk, tmp)
        wall_mode(wk)
    print(f"advice test: {len(lq.failures)} failed" if lq.failures else "advice test: passed")
    return 1 if lq.failures else 0


if __name__ == "__main__":
    sys.exit(main())
