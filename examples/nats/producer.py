#!/usr/bin/env python3
"""Publish callbacks (NDJSON on standard input) to NATS JetStream, one subject per partition.

Each line is keyed with `windowkeeper key --partitions N`, so every record of a person
lands in one partition, in input order: by the business-scoped user id a line carries, else
its phone. A Meta body naming several people comes out of `key` as one line per person (the
same envelope with that person's items), each published to its own partition; lines are
numbered as `key` writes them, so a producer restarted on the same input makes the same ids. Partition p goes to subject
`callbacks.<p % instances>.<p>`: one windowkeeper instance reads `callbacks.<i>.*`.

    windowkeeper-sim generate --seed 1 | python3 producer.py --partitions 4 --instances 2
    python3 producer.py --server nats://a:4222,nats://b:4222,nats://c:4222 --replicas 3 < callbacks.ndjson

A line counts as published only once JetStream acknowledged it (stored on a quorum of the
stream's replicas). Publishes are asynchronous, up to --in-flight at a time. Every message
carries a `Nats-Msg-Id` made from its line number and its bytes, so a publish retried after
a timeout, a lost connection or a leader change is stored once, and so is a line published
again by a producer restarted from the same input within the stream's duplicate window.
Each message also names the id of the one before it (`Nats-Expected-Last-Msg-Id`): the
stream refuses a message whose predecessor is missing, so a retry never lands out of
order. A line that cannot be stored within --retry-for seconds ends the producer with
exit status 1 and a message saying which line; the lines before it are stored, and running
the producer again on the same input resumes without doubles.
"""
import argparse
import asyncio
import collections
import hashlib
import json
import sys
import time

import nats
import nats.errors
import nats.js.errors
from nats.js.api import StorageType, StreamConfig

WRONG_LAST_MSG_ID = 10070
# Keyed lines are read ahead into a buffer of about this size (twice it at most), so a slow
# broker holds the input back instead of the producer's memory taking it all in.
LINE_BUFFER = 4 << 20
STREAM_NOT_FOUND = 10059


def covers(pattern: str, subject: str) -> bool:
    """Whether a stream subject (with * and > wildcards) matches a concrete subject."""
    p, s = pattern.split("."), subject.split(".")
    for i, token in enumerate(p):
        if token == ">":
            return len(s) > i
        if i >= len(s) or (token != "*" and token != s[i]):
            return False
    return len(p) == len(s)


class Record:
    __slots__ = ("line", "subject", "payload", "msg_id", "prev_id", "future", "deadline")

    def __init__(self, line, subject, payload, msg_id, prev_id):
        self.line, self.subject, self.payload, self.msg_id, self.prev_id = line, subject, payload, msg_id, prev_id
        self.future = None
        self.deadline = 0.0


def say(**fields):
    print(json.dumps({"producer": fields}), file=sys.stderr, flush=True)


async def ensure_stream(js, args, subjects) -> None:
    """Uses the stream if it exists and takes our subjects (whatever its other settings),
    else creates it; retried while the cluster elects a leader."""
    deadline = time.monotonic() + args.retry_for
    while True:
        try:
            try:
                info = await js.stream_info(args.stream)
            except nats.js.errors.NotFoundError:
                config = StreamConfig(name=args.stream, subjects=[f"{args.prefix}.>"], storage=StorageType.FILE,
                                      num_replicas=args.replicas, duplicate_window=args.duplicate_window,
                                      allow_direct=True)  # any replica serves reads while a leader is elected
                try:
                    await js.add_stream(config)
                    say(stream=args.stream, created=True, replicas=args.replicas,
                        duplicate_window_s=args.duplicate_window)
                    return
                except nats.js.errors.BadRequestError:  # made meanwhile by someone else: look again
                    continue
            missing = [s for s in subjects if not any(covers(p, s) for p in info.config.subjects or [])]
            if missing:
                raise SystemExit(f"producer: stream {args.stream} exists but does not take subject {missing[0]} "
                                 f"(its subjects: {info.config.subjects}); use another --stream or --prefix")
            window = info.config.duplicate_window or 0
            say(stream=args.stream, created=False, replicas=info.config.num_replicas, duplicate_window_s=window)
            if window < args.duplicate_window:
                say(warning=f"the stream's duplicate window is {window:g} s: a producer restarted later than that "
                            f"after its last publish stores lines again")
            return
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError, nats.js.errors.ServiceUnavailableError,
                nats.js.errors.ServerError, nats.errors.ConnectionClosedError) as e:
            if time.monotonic() > deadline:
                raise SystemExit(f"producer: stream {args.stream} unavailable for {args.retry_for:g} s ({e!r}): "
                                 f"no line could be stored")
            await asyncio.sleep(0.5)


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default="nats://127.0.0.1:4222",
                    help="server URL, or several separated by commas (the nodes of a cluster)")
    ap.add_argument("--stream", default="CALLBACKS", help="JetStream stream to create or use (subjects <prefix>.>)")
    ap.add_argument("--prefix", default="callbacks", help="subject prefix (default %(default)s)")
    ap.add_argument("--replicas", type=int, default=1, help="replicas of the stream if it is created (1, 3 or 5)")
    ap.add_argument("--duplicate-window", type=float, default=3600,
                    help="seconds the stream remembers message ids, if it is created (default %(default)s): a "
                         "producer restarted within it on the same input stores nothing twice")
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--instances", type=int, default=1, help="windowkeeper instances the partitions are spread over")
    ap.add_argument("--windowkeeper", default="windowkeeper", help="path of the windowkeeper binary")
    ap.add_argument("--in-flight", type=int, default=256, help="publishes awaiting their acknowledgement at most")
    ap.add_argument("--ack-wait", type=float, default=2.0, help="seconds to wait for an acknowledgement before retrying")
    ap.add_argument("--retry-for", type=float, default=60.0,
                    help="give up (exit 1) when one line could not be stored for this many seconds")
    ap.add_argument("--id-prefix", default="",
                    help="prepended to every message id (ids are LINE:HASH of the input line)")
    ap.add_argument("--rejects", default="producer-rejects.ndjson",
                    help="where lines larger than the server's max_payload are appended (default %(default)s)")
    args = ap.parse_args()
    servers = [s.strip() for s in args.server.split(",") if s.strip()]

    closing = False

    async def disconnected():
        if not closing:
            say(event="disconnected")

    async def reconnected():
        say(event="reconnected", server=str(nc.connected_url.netloc) if nc.connected_url else None)

    async def error(e):
        pass  # the publish that suffers from it is retried; nothing else to do

    try:
        nc = await asyncio.wait_for(nats.connect(
            servers=servers, max_reconnect_attempts=-1, reconnect_time_wait=0.2, connect_timeout=2, ping_interval=2,
            max_outstanding_pings=2, disconnected_cb=disconnected, reconnected_cb=reconnected, error_cb=error),
            args.retry_for)
    except asyncio.TimeoutError:
        print(f"producer: no server of {args.server} answered for {args.retry_for:g} s: no line could be stored",
              file=sys.stderr)
        return 1
    js = nc.jetstream(timeout=args.ack_wait, publish_async_max_pending=args.in_flight + 16)
    subjects = [f"{args.prefix}.{p % args.instances}.{p}" for p in range(args.partitions)]
    await ensure_stream(js, args, subjects)

    key = await asyncio.create_subprocess_exec(args.windowkeeper, "key", "--partitions", str(args.partitions),
                                               stdin=sys.stdin.buffer, stdout=asyncio.subprocess.PIPE,
                                               limit=LINE_BUFFER)
    stored = duplicates = rejected = retries = 0
    line_no = 0
    prev_id = None
    rejects = None
    eof = False

    def reject(piece: bytes):
        nonlocal rejects
        rejects = rejects or open(args.rejects, "ab")
        rejects.write(piece)

    async def next_record():
        nonlocal line_no, prev_id, rejected, eof
        while True:
            try:
                line = await key.stdout.readuntil(b"\n")
            except asyncio.IncompleteReadError as e:  # the end (key ends every line with a newline)
                if not e.partial:
                    eof = True
                    return None
                line = e.partial
            except asyncio.LimitOverrunError as e:
                # Longer than the buffer, so longer than any server takes: to the rejects, in pieces.
                line_no += 1
                rejected += 1
                piece = await key.stdout.readexactly(e.consumed)
                reject(piece.partition(b"\t")[2])
                while True:
                    try:
                        reject(await key.stdout.readuntil(b"\n"))
                        break
                    except asyncio.LimitOverrunError as more:
                        reject(await key.stdout.readexactly(more.consumed))
                    except asyncio.IncompleteReadError as more:
                        reject(more.partial + b"\n")
                        break
                continue
            line_no += 1
            partition, _, payload = line.rstrip(b"\n").partition(b"\t")
            if len(payload) > nc.max_payload - 512:  # room for the headers
                # windowkeeper would reject it as line_too_long anyway; keep it, do not stop.
                reject(payload + b"\n")
                rejected += 1
                continue
            digest = hashlib.blake2b(payload, digest_size=10).hexdigest()
            msg_id = f"{args.id_prefix}{line_no}:{digest}"
            rec = Record(line_no, subjects[int(partition)], payload, msg_id, prev_id)
            prev_id = msg_id
            return rec

    async def send(rec: Record, chained: bool):
        headers = {"Nats-Msg-Id": rec.msg_id}
        if chained and rec.prev_id is not None:
            headers["Nats-Expected-Last-Msg-Id"] = rec.prev_id
        # A line sent alone after a failure is a probe: while a leader is elected it is sent
        # again every half second, so storing resumes as soon as one is there.
        rec.deadline = time.monotonic() + (args.ack_wait if chained else min(args.ack_wait, 0.5))
        try:
            rec.future = await js.publish_async(rec.subject, rec.payload, headers=headers)
        except Exception as e:  # buffer full while reconnecting, connection closed…
            rec.future = asyncio.get_running_loop().create_future()
            rec.future.set_exception(e)
        # An answer that comes after the line was given up on (and sent again) is not an error.
        rec.future.add_done_callback(lambda f: f.cancelled() or f.exception())

    inflight = collections.deque()
    failing_since = None  # when the oldest unacknowledged line first failed
    last_error = None
    alone = False  # after a failure: resend the oldest line by itself (nothing else in flight)
    started = time.monotonic()
    while True:
        # Refilled in batches (when half the window is acknowledged): one write for many publishes.
        if len(inflight) <= args.in_flight // 2:
            while not eof and not alone and len(inflight) < args.in_flight:
                rec = await next_record()
                if rec is None:
                    break
                await send(rec, chained=True)
                inflight.append(rec)
        if not inflight:
            break
        rec = inflight[0]
        try:
            ack = await asyncio.wait_for(asyncio.shield(rec.future), max(0.0, rec.deadline - time.monotonic()))
            inflight.popleft()
            if ack.duplicate:
                duplicates += 1
            else:
                stored += 1
            if failing_since is not None:
                say(event="stored again", line=rec.line, after_s=round(time.monotonic() - failing_since, 3))
                failing_since = None
            if alone:  # the oldest is stored: the rest again, pipelined and chained
                alone = False
                for r in inflight:
                    await send(r, chained=True)
            continue
        except asyncio.TimeoutError:
            last_error = "no acknowledgement within --ack-wait"
        except nats.js.errors.APIError as e:
            if e.err_code == WRONG_LAST_MSG_ID and not alone:
                last_error = "an earlier message was not stored"
            else:
                last_error = f"{e.description or e} (err_code {e.err_code})"
        except Exception as e:  # no responders while a leader is elected, connection lost…
            last_error = repr(e) or type(e).__name__
        # Not stored, or not known to be: everything from the oldest on is sent again, the
        # oldest by itself first, so that nothing lands out of order; ids make repeats harmless.
        now = time.monotonic()
        if failing_since is None:
            failing_since = now
            say(event="retrying", line=rec.line, error=last_error)
        if now - failing_since > args.retry_for:
            print(f"producer: line {rec.line} of the input (subject {rec.subject}) could not be stored for "
                  f"{args.retry_for:g} s: {last_error}. The {stored + duplicates} lines before it are stored; "
                  f"run the producer again on the same input to go on (stored lines are not stored twice).",
                  file=sys.stderr, flush=True)
            if key.returncode is None:
                key.kill()
            await key.wait()
            closing = True
            await nc.close()
            return 1
        retries += 1
        for r in inflight:
            if r.future and not r.future.done():
                r.future.cancel()
        await asyncio.sleep(0.1)
        alone = True
        await send(rec, chained=False)

    code = await key.wait()
    if code != 0:
        print(f"producer: windowkeeper key failed (exit {code})", file=sys.stderr)
        return 1
    seconds = time.monotonic() - started
    # Every line is acknowledged: the count below includes them all.
    info = None
    for _ in range(20):
        try:
            info = await js.stream_info(args.stream)
            break
        except Exception:
            await asyncio.sleep(0.5)
    print(json.dumps({"published": stored, "duplicates": duplicates, "too_large": rejected, "retries": retries,
                      "lines": line_no, "seconds": round(seconds, 3),
                      "stream_messages": info.state.messages if info else None,
                      "last_seq": info.state.last_seq if info else None}), file=sys.stderr, flush=True)
    closing = True
    await nc.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
