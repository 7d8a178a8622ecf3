"""Regenerate assets_config/samples/mooncake_sample.jsonl: a small FAST'25-style single-turn trace.

60 conversations share a two-block system prompt; each request extends its conversation's prompt with the
previous reply and new input, reusing only the ids of the previous prompt's *full* blocks (a partial last
block gets a fresh id once it grows). Poisson-like arrivals. Used when ../shared/data is absent.
"""

from pathlib import Path

import numpy as np
import orjson

from agenttrace_pipeline.trace.model import BLOCK_SIZE as BS

OUT = Path(__file__).resolve().parents[1] / "assets_config" / "samples" / "mooncake_sample.jsonl"


def main() -> None:
    rng = np.random.default_rng(7)
    next_id = 2
    convs = [{"ids": [0, 1], "in_len": 2 * BS, "ctx": 2 * BS} for _ in range(60)]
    events = []
    for c in range(60):
        start = float(rng.exponential(2000.0)) * c
        for k in range(int(rng.integers(1, 6))):
            events.append((start + k * float(rng.uniform(5000, 20000)), c))
    events.sort()
    rows = []
    for ts, c in events:
        conv = convs[c]
        length = conv["ctx"] + int(rng.lognormal(6.5, 1.0)) + 1
        ids = conv["ids"][: conv["in_len"] // BS]
        while len(ids) < -(-length // BS):
            ids.append(next_id)
            next_id += 1
        out = int(rng.integers(20, 400))
        conv.update(ids=ids, in_len=length, ctx=length + out)
        rows.append({"timestamp": int(ts), "input_length": length, "output_length": out, "hash_ids": list(ids)})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    print(f"wrote {len(rows)} rows to {OUT}")


if __name__ == "__main__":
    main()
