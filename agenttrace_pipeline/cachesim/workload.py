"""A trace as flat numpy arrays: what the cache simulation reads.

Two shapes of Mooncake trace are accepted:

* multi-turn (rows carry ``session_id``): a session's rows are consecutive; turn 0 lists its whole
  initial context and later rows only the ids of their new tokens, so the prompt of turn ``k`` is the
  concatenation of the session's rows ``0..k`` (plus, for the *vllm* semantics, the replies between them);
* single-turn (FAST'25): every row is a whole prompt with cumulative ids, and is its own "session".

Each id also gets a prefix *layer*: 0 = L1 (shared by every session), 1 = L1.5 (shared inside a group),
2 = L2 (the rest of turn 0), 3 = L3 (later turns). The generator's ``manifest.json`` gives the L1/L1.5 id
ranges; without one they are derived from the rows (see :func:`derive_layers`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl

from agenttrace_pipeline.trace.dtypes import ROW_DTYPES
from agenttrace_pipeline.trace.reader import TraceReadError, iter_rows

LAYERS = ("L1", "L1.5", "L2", "L3")


@dataclass(frozen=True)
class Workload:
    """Per-request arrays (length ``n``), the flat ids of every row, and the layer of each id occurrence.

    ``ids[ids_off[r]:ids_off[r+1]]`` are row ``r``'s hash ids; ``sess_first[s]`` is session ``s``'s first
    row (sessions are contiguous, ``sess_first`` has a final sentinel ``n``). ``timestamp`` is ms for
    turn 0 / single-turn rows and NaN otherwise; ``delay`` is ms before later turns, 0 on turn 0.
    """

    session: np.ndarray  # int64, session index per row
    turn: np.ndarray  # int64
    input_len: np.ndarray  # int64, the row's input_length
    output_len: np.ndarray  # int64
    timestamp: np.ndarray  # float64
    delay: np.ndarray  # float64
    ids: np.ndarray  # int64
    ids_off: np.ndarray  # int64, n + 1
    id_layer: np.ndarray  # int8, one per entry of ids
    sess_first: np.ndarray  # int64, n_sessions + 1
    session_names: tuple[str, ...]
    cumulative: bool
    block_size: int
    layer_source: str  # "manifest" (or given ranges), "derived"
    layer_ranges: tuple[int, int] | None = None  # (L1 end, L1.5 end) ids when known

    @property
    def n_requests(self) -> int:
        return int(self.session.size)

    @property
    def n_sessions(self) -> int:
        return int(self.sess_first.size - 1)

    @classmethod
    def from_arrays(
        cls,
        session: Sequence[Any],
        hash_ids: Sequence[Sequence[int]],
        input_length: Sequence[int],
        output_length: Sequence[int],
        timestamp: Sequence[float] | None = None,
        delay: Sequence[float] | None = None,
        *,
        cumulative: bool = True,
        block_size: int = 512,
        group_id: Sequence[float] | None = None,  # NaN where a row has none
        is_restart: Sequence[bool] | None = None,
        layer_ranges: tuple[int, int] | None = None,
    ) -> Workload:
        """Build from per-request columns (e.g. a generator batch held in memory).

        ``session`` labels rows (consecutive rows of one session; ignored when ``cumulative`` is False),
        ``hash_ids`` per row; ``timestamp`` (ms, turn 0) and ``delay`` (ms, later turns) default to 0.
        ``layer_ranges=(l1_end, l15_end)``: ids below ``l1_end`` are L1, below ``l15_end`` L1.5.
        """
        n = len(input_length)
        lens = np.fromiter((len(h) for h in hash_ids), np.int64, n)
        flat = np.fromiter((x for h in hash_ids for x in h), np.int64, int(lens.sum()))
        ts = np.zeros(n) if timestamp is None else np.asarray(timestamp, np.float64)
        dl = np.zeros(n) if delay is None else np.asarray(delay, np.float64)
        return _assemble(list(session) if cumulative else None, flat, lens, np.asarray(input_length, np.int64),
                         np.asarray(output_length, np.int64), ts, dl, block_size,
                         None if group_id is None else np.asarray(group_id, np.float64),
                         None if is_restart is None else np.asarray(is_restart, bool), layer_ranges, "<arrays>")

    @classmethod
    def from_rows(cls, rows: Iterable[dict[str, Any]], block_size: int = 512,
                  layer_ranges: tuple[int, int] | None = None) -> Workload:
        """Build from Mooncake row dicts (multi-turn when the first row has ``session_id``)."""
        rows = list(rows)
        multi = bool(rows) and rows[0].get("session_id") is not None
        return cls.from_arrays(
            [r.get("session_id") for r in rows], [r.get("hash_ids") or [] for r in rows],
            [r["input_length"] for r in rows], [r["output_length"] for r in rows],
            [r.get("timestamp", np.nan) if r.get("timestamp") is not None else np.nan for r in rows],
            [r.get("delay") or 0.0 for r in rows], cumulative=multi, block_size=block_size,
            group_id=[r.get("group_id", np.nan) if r.get("group_id") is not None else np.nan for r in rows],
            is_restart=[bool(r.get("is_restart")) for r in rows], layer_ranges=layer_ranges)

    @classmethod
    def from_file(cls, path: str | Path, block_size: int | None = None,
                  manifest: str | Path | None = None) -> Workload:
        """Read a Mooncake JSONL file; ``manifest.json`` beside it (or ``manifest``) gives block size and layers.

        Raises :class:`TraceReadError` naming the file, line and field of the first unusable row.
        """
        path = Path(path)
        man = _read_manifest(Path(manifest) if manifest else path.parent / "manifest.json")
        bs = block_size or (man or {}).get("block_size") or 512
        ranges = _manifest_ranges(man) if man else None
        try:
            df = pl.read_ndjson(path, schema=ROW_DTYPES)
        except Exception as exc:  # polars does not name the line: find it with the line reader
            for _ in iter_rows(path):
                pass
            raise TraceReadError(path, 0, "", f"cannot parse ({exc})") from None
        _check_columns(df, path, bs)
        multi = df["session_id"].null_count() < df.height
        lens = df["hash_ids"].list.len().to_numpy().astype(np.int64)
        flat = df["hash_ids"].explode().drop_nulls().to_numpy().astype(np.int64)
        ts = df["timestamp"].fill_null(np.nan).to_numpy().astype(np.float64)
        return _assemble(df["session_id"].to_list() if multi else None, flat, lens,
                         df["input_length"].to_numpy().astype(np.int64),
                         df["output_length"].to_numpy().astype(np.int64),
                         ts, df["delay"].fill_null(0.0).to_numpy().astype(np.float64), int(bs),
                         df["group_id"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
                         df["is_restart"].fill_null(False).to_numpy(), ranges, str(path))


def _read_manifest(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise TraceReadError(path, 0, "", f"invalid manifest JSON ({exc})") from None


def _manifest_ranges(man: dict[str, Any]) -> tuple[int, int] | None:
    """(L1 end, L1.5 end) id bounds recorded by the generator, or None when the manifest lacks them."""
    derived = man.get("derived") or {}
    if "layer1_blocks" not in derived:
        return None
    l1 = int(derived["layer1_blocks"])
    cache = (man.get("generation_params") or {}).get("cache") or {}
    groups = int((cache.get("layer1_5_groups") or {}).get("num_groups", 1))
    return l1, l1 + groups * int(derived.get("layer1_5_blocks", 0))


def _check_columns(df: pl.DataFrame, path: Path, bs: int) -> None:
    """First row breaking what the simulation relies on -> TraceReadError(file, line, field)."""
    n = pl.col("hash_ids").list.len()
    rules = [
        ("input_length", pl.col("input_length").is_null() | (pl.col("input_length") <= 0), "must be an integer > 0"),
        ("output_length", pl.col("output_length").is_null() | (pl.col("output_length") <= 0), "must be an integer > 0"),
        ("hash_ids", pl.col("hash_ids").is_null() | (n == 0), "is required (a non-empty list)"),
        ("hash_ids", ((n - 1) * bs >= pl.col("input_length")) | (pl.col("input_length") > n * bs),
         f"must cover input_length at {bs} tokens per id"),
        ("delay", pl.col("delay").fill_null(0) < 0, "must be >= 0"),
    ]
    for field, bad, why in rules:
        hit = df.select(pl.arg_where(bad.fill_null(True)).first()).item()
        if hit is not None:
            raise TraceReadError(path, int(hit) + 1, field, why)


def _assemble(names, flat, lens, inp, out, ts, dl, bs, group, restart, ranges, where) -> Workload:
    n = inp.size
    if names is None:  # single-turn: every row is its own session
        sess = np.arange(n, dtype=np.int64)
        labels: tuple[str, ...] = tuple(str(i) for i in range(n))
    else:
        sess, labels = _session_index(names, where)
    first = np.flatnonzero(np.r_[True, sess[1:] != sess[:-1]]) if n else np.zeros(0, np.int64)
    turn = np.arange(n, dtype=np.int64) - np.repeat(first, np.diff(np.r_[first, n]))
    off = np.zeros(n + 1, np.int64)
    np.cumsum(lens, out=off[1:])
    ts = np.where(turn == 0, np.nan_to_num(ts, nan=0.0), np.nan)
    dl = np.where(turn == 0, 0.0, dl)
    row_of = np.repeat(np.arange(n), lens)
    layer = derive_layers(flat, row_of, turn, sess, group, restart, ranges)
    return Workload(sess, turn, inp, out, ts, dl, flat, off, layer, np.r_[first, n].astype(np.int64), labels,
                    names is not None, int(bs), "manifest" if ranges else "derived", ranges)


def _session_index(names: list[Any], where: str) -> tuple[np.ndarray, tuple[str, ...]]:
    codes, seen, labels, prev = np.empty(len(names), np.int64), set(), [], object()
    for i, s in enumerate(names):
        if s != prev:
            if s is None or s in seen:
                why = "is missing" if s is None else f"{s!r} reappears after other sessions (rows must be grouped)"
                raise TraceReadError(where, i + 1, "session_id", why)
            seen.add(s)
            labels.append(str(s))
            prev = s
        codes[i] = len(labels) - 1
    return codes, tuple(labels)


def derive_layers(flat, row_of, turn, sess, group, restart, ranges) -> np.ndarray:
    """Layer code per id occurrence.

    With ``ranges=(l1_end, l15_end)``: ids below ``l1_end`` are L1, below ``l15_end`` L1.5, other turn-0
    ids L2 and later-turn ids L3. Without: a turn-0 id present in every primary session's turn 0 is L1;
    one present in several sessions that all share a group is L1.5; other turn-0 ids are L2 (restart
    continuations do not count as sharing, so ids they reuse from their first half stay L2).
    """
    t0 = turn[row_of] == 0
    layer = np.where(t0, 2, 3).astype(np.int8)
    if flat.size == 0:
        return layer
    if ranges is not None:
        layer[t0 & (flat < ranges[1])] = 1
        layer[t0 & (flat < ranges[0])] = 0
        return layer
    primary = t0 & ~(restart[row_of] if restart is not None else np.zeros(flat.size, bool))
    uniq, inv, counts = np.unique(flat[primary], return_inverse=True, return_counts=True)
    n_primary = np.unique(sess[row_of[primary]]).size
    shared = counts > 1
    if group is not None and n_primary > 1:
        g = group[row_of[primary]]
        g = np.where(np.isnan(g), -1.0, g)
        gmin = np.full(uniq.size, np.inf)
        gmax = np.full(uniq.size, -np.inf)
        np.minimum.at(gmin, inv, g)
        np.maximum.at(gmax, inv, g)
        in_group = shared & (gmin == gmax) & (gmin >= 0) & (counts < n_primary)
    else:
        in_group = np.zeros(uniq.size, bool)
    code = np.where(counts == n_primary, 0, np.where(in_group, 1, 2)).astype(np.int8) if n_primary > 1 else \
        np.full(uniq.size, 2, np.int8)
    pos = np.searchsorted(uniq, flat)
    known = t0 & (pos < uniq.size) & (uniq[np.minimum(pos, uniq.size - 1)] == flat)
    layer[known] = code[pos[known]]
    return layer
