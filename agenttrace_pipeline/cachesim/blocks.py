"""Turn a :class:`Workload` into the block streams the cache kernel walks, under one of two hit semantics.

Both produce the same shape: ``blocks`` (dense block numbers ``0..n_blocks-1``) laid out per session, and
per request ``base`` (where its session's stream starts), ``n_prompt`` (blocks of its prompt, touched when
it starts), ``n_query`` (leading blocks that may hit) and ``n_total`` (blocks touched by the time it ends).

*simple* — a block is a hash id; the prompt is the session's ids so far; hit tokens are the tokens of the
leading run of cached ids (a row's last id counts its own partial size). This is how the FAST'25 hit rates
are computed:

>>> from agenttrace_pipeline.cachesim.workload import Workload
>>> w = Workload.from_rows([{"input_length": 600, "output_length": 1, "hash_ids": [7, 8]},
...                         {"input_length": 700, "output_length": 1, "hash_ids": [7, 9]}])
>>> s = build_blocks(w, "simple")
>>> s.n_query.tolist(), s.tokens[s.blocks].tolist()
([2, 2], [512, 88, 512, 188])

*vllm* — what vLLM's prefix cache sees: the session's token stream (turn-0 text, reply 0, new text 1,
reply 1, …) cut into ``engine_block``-token blocks, each named by a hash chained over every token before
it; only full blocks exist, at most ``n-1`` prompt tokens can hit, and the full blocks of the reply are
cached when the request ends:

>>> v = build_blocks(w, "vllm", engine_block=256)
>>> v.n_prompt.tolist(), v.n_query.tolist(), v.n_total.tolist()
([2, 2], [2, 2], [2, 2])
>>> bool(v.blocks[0] == v.blocks[2]), bool(v.blocks[1] == v.blocks[3])  # the same first 512 tokens
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from agenttrace_pipeline.cachesim.workload import Workload

SEMANTICS = ("simple", "vllm")
_OUT_TAG = np.int64(1) << np.int64(62)  # piece keys of generated replies (never equal to an id key)


@dataclass(frozen=True)
class BlockStreams:
    blocks: np.ndarray  # int32 dense block number, per stream position
    base: np.ndarray  # int64 per request
    n_prompt: np.ndarray
    n_query: np.ndarray
    n_total: np.ndarray
    prompt_tokens: np.ndarray  # int64 per request: tokens the prompt sends
    tokens: np.ndarray  # int32 per dense block
    layer: np.ndarray  # int8 per dense block
    tail_layer: np.ndarray  # int8 per request: layer of prompt tokens outside full blocks (vllm)
    semantics: str
    block_tokens: int

    @property
    def n_blocks(self) -> int:
        return int(self.tokens.size)


def build_blocks(w: Workload, semantics: str = "simple", engine_block: int | None = None) -> BlockStreams:
    """Block streams of ``w``; ``engine_block`` (vllm only) defaults to the trace's block size."""
    if semantics == "simple":
        return _simple(w)
    if semantics == "vllm":
        return _vllm(w, int(engine_block or w.block_size))
    raise ValueError(f"semantics must be one of {SEMANTICS}, got {semantics!r}")


def _id_sizes(w: Workload) -> np.ndarray:
    """Tokens of each id occurrence: a full block except a row's last id, which holds the remainder."""
    sizes = np.full(w.ids.size, w.block_size, np.int64)
    last = w.ids_off[1:] - 1
    has = w.ids_off[1:] > w.ids_off[:-1]
    sizes[last[has]] = w.input_len[has] - (w.ids_off[1:] - w.ids_off[:-1] - 1)[has] * w.block_size
    return sizes


def _simple(w: Workload) -> BlockStreams:
    uniq, dense = np.unique(w.ids, return_inverse=True)
    tokens = np.zeros(uniq.size, np.int32)
    layer = np.zeros(uniq.size, np.int8)
    tokens[dense] = _id_sizes(w)
    layer[dense[::-1]] = w.id_layer[::-1]  # first occurrence wins
    start = w.sess_first[w.session] if w.cumulative else np.arange(w.n_requests)
    base = w.ids_off[start]
    n_prompt = w.ids_off[1:] - base
    if w.cumulative:
        csum = np.cumsum(w.input_len)
        ptok = csum - (csum[start] - w.input_len[start])
    else:
        ptok = w.input_len.copy()
    return BlockStreams(dense.astype(np.int32), base, n_prompt, n_prompt.copy(), n_prompt.copy(), ptok,
                        tokens, layer, np.where(w.turn == 0, 2, 3).astype(np.int8), "simple", w.block_size)


def _vllm(w: Workload, eb: int) -> BlockStreams:
    if eb < 1:
        raise ValueError(f"engine_block must be >= 1 token, got {eb}")
    uniq, dense_id = np.unique(w.ids, return_inverse=True)
    sizes = _id_sizes(w)
    if w.cumulative:
        first, last = w.sess_first[:-1], w.sess_first[1:]
    else:
        first = np.arange(w.n_requests, dtype=np.int64)
        last = first + 1
    tot = w.input_len + w.output_len
    per_sess = np.add.reduceat(tot, first) if first.size else np.zeros(0, np.int64)
    cap = int((per_sess // eb + 1).sum())
    hashes = np.empty(cap, np.uint64)
    layer_of = np.empty(cap, np.int8)
    base, n_prompt, n_query, n_total, ptok = (np.zeros(w.n_requests, np.int64) for _ in range(5))
    used = _chain(first, last, w.ids_off, dense_id.astype(np.int64), sizes, w.id_layer, w.output_len, eb,
                  hashes, layer_of, base, n_prompt, n_query, n_total, ptok)
    uniq_h, dense = np.unique(hashes[:used], return_inverse=True)
    layer = np.zeros(uniq_h.size, np.int8)
    layer[dense[::-1]] = layer_of[:used][::-1]
    tokens = np.full(uniq_h.size, eb, np.int32)
    tail = np.where(w.turn == 0, 2, 3).astype(np.int8)
    return BlockStreams(dense.astype(np.int32), base, n_prompt, n_query, n_total, ptok, tokens, layer, tail,
                        "vllm", eb)


@njit(cache=True)
def _mix(h, x):
    """splitmix64-style mixing of a running 64-bit hash with one more value."""
    z = (h ^ np.uint64(x)) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def _feed(key, length, layer, eb, hs, st, hashes, layer_of):
    """Append ``length`` tokens of piece ``key`` to a stream; emit each block that fills up.

    ``hs`` = [parent hash, content hash of the open block]; ``st`` = [tokens in the open block,
    blocks emitted, layer of the open block].
    """
    off = 0
    while length > 0:
        m = min(length, eb - st[0])
        if st[0] == 0:
            st[2] = layer
        hs[1] = _mix(_mix(_mix(hs[1], key), off), m)
        st[0] += m
        off += m
        length -= m
        if st[0] == eb:
            h = _mix(hs[0], hs[1])
            hashes[st[1]] = h
            layer_of[st[1]] = st[2]
            hs[0] = h
            hs[1] = np.uint64(0)
            st[0] = 0
            st[1] += 1


@njit(cache=True)
def _chain(first, last, ids_off, dense_id, sizes, id_layer, out_len, eb, hashes, layer_of,
           base, n_prompt, n_query, n_total, ptok):
    hs = np.zeros(2, np.uint64)
    st = np.zeros(3, np.int64)
    for s in range(first.size):
        hs[0] = np.uint64(0x5EED)
        hs[1] = np.uint64(0)
        st[0] = 0
        start = st[1]
        tokens = 0
        for r in range(first[s], last[s]):
            for j in range(ids_off[r], ids_off[r + 1]):
                _feed(dense_id[j], sizes[j], id_layer[j], eb, hs, st, hashes, layer_of)
                tokens += sizes[j]
            base[r] = start
            n_prompt[r] = st[1] - start
            n_query[r] = min(n_prompt[r], (tokens - 1) // eb)
            ptok[r] = tokens
            _feed(_OUT_TAG + r, out_len[r], 3, eb, hs, st, hashes, layer_of)
            tokens += out_len[r]
            # the reply's last token is sampled, never computed: a block it alone completes is not cached
            n_total[r] = min(st[1] - start, (tokens - 1) // eb)
    return st[1]
