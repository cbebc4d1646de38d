#!/usr/bin/env python3
"""Read one windowkeeper instance's partitions from NATS JetStream, resuming where its state was cut.

Asks `windowkeeper status --state FILE --positions` how far the state reflects the input,
then reads subjects `callbacks.<instance>.*` in the stream's own order from the next
sequence on and prints `SUBJECT<TAB>SEQUENCE<TAB>PAYLOAD` lines for `windowkeeper --positions`:

    python3 consumer.py --instance 0 --state s0.bin \\
      | windowkeeper --positions --state s0.bin --checkpoint-every 10s > events-0.ndjson

After a crash, run the same pipeline again: nothing is lost, and lines read twice change
nothing (their events, if repeated, carry their original ids).
"""
import argparse
import asyncio
import json
import os
import subprocess
import sys

import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy


def resume_after(windowkeeper: str, state: str) -> int:
    """The largest stream sequence the state holds (0 when there is no state yet)."""
    if not os.path.exists(state):
        return 0
    out = subprocess.run([windowkeeper, "status", "--state", state, "--positions"],
                         check=True, capture_output=True, text=True).stdout
    return max((int(json.loads(line)["position"]) for line in out.splitlines()), default=0)


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default="nats://127.0.0.1:4222")
    ap.add_argument("--stream", default="CALLBACKS")
    ap.add_argument("--instance", type=int, default=0)
    ap.add_argument("--state", required=True, help="the --state file of the windowkeeper this feeds")
    ap.add_argument("--windowkeeper", default="windowkeeper", help="path of the windowkeeper binary")
    ap.add_argument("--exit-when-idle", type=float, default=0,
                    help="end (closing standard output) after this many seconds without messages; 0: never")
    args = ap.parse_args()

    last = resume_after(args.windowkeeper, args.state)
    print(json.dumps({"instance": args.instance, "resume_after": last}), file=sys.stderr, flush=True)
    nc = await nats.connect(args.server, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    js = nc.jetstream()
    out = sys.stdout.buffer
    idle = 0.0
    sub = None
    while True:
        try:
            if sub is None:
                # An ephemeral consumer from the next sequence on; made again from wherever
                # reading stopped if the server goes away.
                config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=last + 1,
                                        ack_policy=AckPolicy.NONE, inactive_threshold=30)
                sub = await js.pull_subscribe(f"callbacks.{args.instance}.*", stream=args.stream, config=config)
            msgs = await sub.fetch(batch=1000, timeout=0.5)
        except nats.errors.TimeoutError:
            idle += 0.5
            if args.exit_when_idle and idle >= args.exit_when_idle:
                break
            continue
        except Exception:  # server restarting, consumer gone: read on from `last`
            sub = None
            await asyncio.sleep(0.2)
            continue
        idle = 0.0
        for m in msgs:
            seq = m.metadata.sequence.stream
            if seq <= last:  # redelivered by a consumer made again: already printed
                continue
            out.write(m.subject.encode() + b"\t" + str(seq).encode() + b"\t" + m.data + b"\n")
            last = seq
        try:
            out.flush()
        except BrokenPipeError:  # windowkeeper went away: a restart resumes from its state
            return 1
    out.close()
    await nc.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
