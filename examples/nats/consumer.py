#!/usr/bin/env python3
"""Read one windowkeeper instance's partitions from NATS JetStream, resuming where its state was cut.

Asks `windowkeeper status --state FILE --positions` how far the state reflects the input,
then reads subjects `callbacks.<instance>.*` in the stream's own order from the next
sequence on and prints `SUBJECT<TAB>SEQUENCE<TAB>PAYLOAD` lines for `windowkeeper --positions`:

    python3 consumer.py --instance 0 --state s0.bin \\
      | windowkeeper --positions --state s0.bin --checkpoint-every 10s > events-0.ndjson
    python3 consumer.py --server nats://a:4222,nats://b:4222,nats://c:4222 --instance 0 --state s0.bin | …

After a crash, run the same pipeline again: nothing is lost, and lines read twice change
nothing (their events, if repeated, carry their original ids).

Gap-free by construction: it reads through an ephemeral pull consumer of its own, made to
start right after the last sequence it printed, and checks that every message's consumer
sequence is the one after the previous. A jump (messages delivered but never received,
say over a connection that died), a consumer that went away with its node, or silence
beyond the pull's heartbeats makes it drop that consumer and make a new one from the last
printed stream sequence + 1; so what it prints is every message of its subjects, in stream
order, each once. It ends when windowkeeper's standard input closes (windowkeeper exited).
"""
import argparse
import asyncio
import json
import os
import select
import subprocess
import sys
import time

import nats
import nats.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy


def resume_after(windowkeeper: str, state: str) -> int:
    """The largest stream sequence the state holds (0 when there is no state yet)."""
    if not os.path.exists(state):
        return 0
    out = subprocess.run([windowkeeper, "status", "--state", state, "--positions"],
                         check=True, capture_output=True, text=True).stdout
    return max((int(json.loads(line)["position"]) for line in out.splitlines()), default=0)


def say(**fields):
    print(json.dumps({"consumer": fields}), file=sys.stderr, flush=True)


class ReaderGone(Exception):
    """windowkeeper closed its standard input (exited)."""


class Output:
    """Standard output. Lines go out in writes of at most PIPE_BUF bytes that end at a line's
    end: the kernel makes each such write to a pipe whole or not at all, so a consumer killed
    in the middle leaves no cut line behind it (windowkeeper would read the piece as a line and
    keep its position; only lines longer than PIPE_BUF, which need several writes, can be
    cut). It also notices when the reader is gone, even while there is nothing to write."""

    def __init__(self):
        self.fd = sys.stdout.fileno()
        self.poll = select.poll()
        self.poll.register(self.fd, select.POLLOUT)  # POLLERR comes unasked: reader closed

    def write(self, lines: list):
        try:
            piece, size = [], 0
            for line in lines:
                if size + len(line) > select.PIPE_BUF and piece:
                    self._write_all(b"".join(piece))
                    piece, size = [], 0
                piece.append(line)
                size += len(line)
            if piece:
                self._write_all(b"".join(piece))
        except BrokenPipeError:
            raise ReaderGone()

    def _write_all(self, data: bytes):
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def check(self):
        for _, events in self.poll.poll(0):
            if events & (select.POLLERR | select.POLLHUP | select.POLLNVAL):
                raise ReaderGone()

    def close(self):
        try:
            os.close(self.fd)
        except OSError:
            pass


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default="nats://127.0.0.1:4222",
                    help="server URL, or several separated by commas (the nodes of a cluster)")
    ap.add_argument("--stream", default="CALLBACKS")
    ap.add_argument("--prefix", default="callbacks", help="subject prefix (default %(default)s)")
    ap.add_argument("--instance", type=int, default=0)
    ap.add_argument("--state", required=True, help="the --state file of the windowkeeper this feeds")
    ap.add_argument("--windowkeeper", default="windowkeeper", help="path of the windowkeeper binary")
    ap.add_argument("--batch", type=int, default=1000, help="messages asked for per pull request")
    ap.add_argument("--heartbeat", type=float, default=0.5,
                    help="seconds between the server's heartbeats while a pull waits; three missed make a new "
                         "consumer (default %(default)s)")
    ap.add_argument("--exit-when-idle", type=float, default=0,
                    help="end (closing standard output) after this many seconds without messages; 0: never")
    args = ap.parse_args()
    servers = [s.strip() for s in args.server.split(",") if s.strip()]
    subject = f"{args.prefix}.{args.instance}.*"

    last = resume_after(args.windowkeeper, args.state)
    print(json.dumps({"instance": args.instance, "resume_after": last}), file=sys.stderr, flush=True)
    out = Output()

    async def quiet(_):
        pass

    # Unreachable servers in the list are skipped; with none reachable it keeps trying.
    nc = await nats.connect(servers=servers, max_reconnect_attempts=-1, reconnect_time_wait=0.2, connect_timeout=1,
                            ping_interval=2, max_outstanding_pings=3, allow_reconnect=True, error_cb=quiet,
                            pending_size=8 << 20)
    js = nc.jetstream(timeout=1.5)

    consumer = None  # name of our consumer
    sub = None  # its own inbox: nothing meant for an earlier consumer reaches it
    expected = 1  # the consumer sequence the next message must carry
    requested = 0  # messages the open pull requests may still bring; 0: ask again
    pending = 0  # messages of our subjects after the last one received, as the server last said
    heard = time.monotonic()  # when the server last sent something (a heartbeat will do)
    served = time.monotonic()  # when it last sent a message, or had none to send
    idle_since = time.monotonic()
    recreations = direct = 0

    async def make_consumer(reason: str):
        """A new consumer from the message after the last one printed. While one cannot be
        made (the stream or the cluster electing a leader), messages are read one by one
        from the replicas."""
        nonlocal consumer, sub, expected, requested, recreations, idle_since, pending, served
        old, consumer = consumer, None
        lost_at, read_before = time.monotonic(), direct
        if old:
            recreations += 1
            say(instance=args.instance, new_consumer_after=last, reason=reason)
            asyncio.ensure_future(forget(old, sub))
        while consumer is None:
            out.check()
            if old:
                await read_directly(1.0)
            old = True
            config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=last + 1,
                                    ack_policy=AckPolicy.NONE, filter_subject=subject, inactive_threshold=5,
                                    mem_storage=True, num_replicas=1, max_waiting=64)
            try:
                info = await js._jsm.add_consumer(args.stream, config=config, timeout=0.75)
                consumer, expected, requested, pending = info.name, 1, 0, info.num_pending or 0
            except Exception:  # no meta leader yet, stream not there yet, connection moving
                await asyncio.sleep(0.1)
        served = time.monotonic()
        if recreations:
            say(instance=args.instance, consumer_back_after_s=round(served - lost_at, 3), from_seq=last + 1,
                read_directly=direct - read_before)
        sub = await nc.subscribe(nc.new_inbox(), pending_msgs_limit=1 << 20, pending_bytes_limit=1 << 30)
        idle_since = time.monotonic()  # idle means: served, with nothing new; not an outage

    async def read_directly(seconds: float) -> int:
        """The next messages of our subjects, one request each, from whichever replica
        answers (streams made with allow_direct, as the producer makes them), for at most
        `seconds` or until there is none. A replica holds a prefix of the stream, so the
        next message it has after `last` is the next one there is. Returns how many."""
        nonlocal last, direct
        until, lines, got = time.monotonic() + seconds, [], 0
        try:
            while time.monotonic() < until:
                body = json.dumps({"seq": last + 1, "next_by_subj": subject}).encode()
                r = await nc.request(f"$JS.API.DIRECT.GET.{args.stream}", body, timeout=0.25)
                seq = int(r.headers.get("Nats-Sequence", 0)) if r.headers else 0
                if seq <= last:  # 404 (nothing after last there), 408, an error
                    break
                lines.append(b"%s\t%d\t%s\n" % (r.headers["Nats-Subject"].encode(), seq, r.data))
                last = seq
                got += 1
                if len(lines) >= 64:
                    out.write(lines)
                    lines = []
        except Exception:
            pass  # no replica answers (not allow_direct, none reachable): wait for a consumer
        finally:
            if lines:
                out.write(lines)
        direct += got
        return got

    async def forget(name, old_sub):
        try:
            if old_sub:
                await old_sub.unsubscribe()
            await js._jsm.delete_consumer(args.stream, name)
        except Exception:
            pass  # it goes by itself after inactive_threshold

    async def pull():
        nonlocal requested, heard, served
        requested = args.batch
        heard = served = time.monotonic()
        body = json.dumps({"batch": args.batch, "expires": int(4e9),
                           "idle_heartbeat": int(args.heartbeat * 1e9)}).encode()
        await nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.{args.stream}.{consumer}", body, reply=sub.subject)

    try:
        await make_consumer("start")
        while True:
            out.check()
            if requested <= 0:
                await pull()
            try:
                m = await sub.next_msg(timeout=args.heartbeat)
            except nats.errors.TimeoutError:
                now = time.monotonic()
                if now - heard > 3 * args.heartbeat:  # no messages nor heartbeats: consumer gone
                    await make_consumer("silence")
                elif pending > 0 and now - served > args.heartbeat:
                    # It has messages for us but sends none: its stream has no leader (one is
                    # being elected), or it lost its place.
                    await make_consumer("stalled")
                if args.exit_when_idle and time.monotonic() - idle_since >= args.exit_when_idle:
                    break
                continue
            except nats.errors.ConnectionClosedError:
                break
            heard = time.monotonic()
            # Take this message and everything already waiting, then write once.
            lines = []
            renew = None
            while m is not None:
                if m.reply:  # a stream message
                    meta = m.metadata
                    if meta.consumer != consumer:
                        pass
                    elif meta.sequence.consumer != expected:  # a jump: messages went missing in between
                        renew = f"consumer sequence {meta.sequence.consumer}, expected {expected}"
                        break
                    else:
                        expected += 1
                        requested -= 1
                        pending = meta.num_pending
                        served = heard
                        seq = meta.sequence.stream
                        if seq > last:
                            lines.append(b"%s\t%d\t%s\n" % (m.subject.encode(), seq, m.data))
                            last = seq
                else:
                    status = m.headers.get("Status") if m.headers else None
                    if status in ("404", "408"):  # nothing more now / a request expired: ask again
                        requested = 0
                        if status == "404":
                            pending, served = 0, heard
                    elif status != "100":  # 503 no responders (its node died), 409 deleted, leader changed…
                        renew = f"status {status} {m.headers.get('Description', '') if m.headers else ''}".strip()
                        break
                m = None
                if sub.pending_msgs > 0 and len(lines) < 4096:
                    m = await sub.next_msg(timeout=0.1)
            if lines:
                out.write(lines)  # blocks while windowkeeper is busy: not a stall
                idle_since = served = time.monotonic()
            if renew:
                await make_consumer(renew)
    except ReaderGone:
        say(instance=args.instance, ended="windowkeeper closed its standard input", last=last,
            new_consumers=recreations, read_directly=direct)
        await nc.close()
        return 0
    out.close()
    await nc.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
