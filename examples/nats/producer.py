#!/usr/bin/env python3
"""Publish Sinch callbacks (NDJSON on standard input) to NATS JetStream, one subject per partition.

Each line is keyed with `windowkeeper key --partitions N`, so every record of a contact
lands in one partition, in input order. Partition p goes to subject
`callbacks.<p % instances>.<p>`: one windowkeeper instance reads `callbacks.<i>.*`.

    windowkeeper-sim generate --seed 1 | python3 producer.py --partitions 4 --instances 2
"""
import argparse
import asyncio
import subprocess
import sys

import nats


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default="nats://127.0.0.1:4222")
    ap.add_argument("--stream", default="CALLBACKS", help="JetStream stream to create or use (subjects callbacks.>)")
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--instances", type=int, default=1, help="windowkeeper instances the partitions are spread over")
    ap.add_argument("--windowkeeper", default="windowkeeper", help="path of the windowkeeper binary")
    ap.add_argument("--rejects", default="producer-rejects.ndjson",
                    help="where lines larger than the server's max_payload are appended (default %(default)s)")
    args = ap.parse_args()

    nc = await nats.connect(args.server)
    js = nc.jetstream()
    # File storage: the stream survives a restart of the server.
    await js.add_stream(name=args.stream, subjects=["callbacks.>"], storage="file")

    key = subprocess.Popen([args.windowkeeper, "key", "--partitions", str(args.partitions)],
                           stdin=sys.stdin.buffer, stdout=subprocess.PIPE)
    published = rejected = 0
    rejects = None
    for line in key.stdout:
        partition, _, payload = line.rstrip(b"\n").partition(b"\t")
        p = int(partition)
        if len(payload) > nc.max_payload:
            # windowkeeper would reject it as line_too_long anyway; keep it, do not stop.
            rejects = rejects or open(args.rejects, "ab")
            rejects.write(payload + b"\n")
            rejected += 1
            continue
        # Core publishes on one connection keep their order; the stream stores each one.
        await nc.publish(f"callbacks.{p % args.instances}.{p}", payload)
        published += 1
        if published % 5000 == 0:
            await nc.flush()
    await nc.flush()
    if key.wait() != 0:
        print("producer: windowkeeper key failed", file=sys.stderr)
        return 1
    info = await js.stream_info(args.stream)
    print(f'{{"published":{published},"too_large":{rejected},"stream_messages":{info.state.messages},'
          f'"last_seq":{info.state.last_seq}}}', file=sys.stderr)
    await nc.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
