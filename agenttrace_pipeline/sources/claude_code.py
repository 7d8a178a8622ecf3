"""Claude Code session logs → canonical turns and tool spans.

Input: ``trace.jsonl`` (one JSON object per line: ``type``, ``uuid``, ``parentUuid``, ``sessionId``, ISO
``timestamp``, ``message``) — or the same records in TraceLab's readable dump, where records are separated
by ``===== record N =====`` lines (a record's line is the line its JSON starts on). Optional
``tool_calls.json`` ([{timestamp, end_timestamp, tool, id}]) and ``resources.json`` ([{timestamp, rss_bytes,
cpu_user_s, cpu_system_s}]) beside the log refine tool spans; each of their entries is a record too.

* **Calls.** One assistant ``message.id`` spans several lines (one per content block): it is one LLM call,
  counted once, with the largest usage seen; prompt = input + cache read + cache creation tokens. Its request
  left at the last user / tool-result line before its first line; its response ended at its last line.
* **Chains.** The main chain of a session is trace ``<sessionId>``. Side chains (sub-agents,
  ``isSidechain: true``) are separate request streams, each with its own context: a side-chain record with no
  parent (``parentUuid`` null, or a parent not in the file, as when a log segment starts mid-chain) starts a
  chain, trace ``<sessionId>:sidechain:<n>`` (n = 1, 2, … in order of appearance, over all files read);
  every other record joins the chain of its ``parentUuid``. A session whose main chain is split over two
  files gives one trace whose turn indexes repeat: the turn contract quarantines it.
* **API errors.** An assistant record with ``isApiErrorMessage: true`` or model ``<synthetic>`` (e.g. text
  "API Error: 500", all-zero usage) is a reply Claude Code wrote itself, not an LLM call: it is counted in
  ``api_error_records`` and is no turn.
* **Streaming snapshots.** Each turn carries its content characters and whether any of its lines had a
  ``stop_reason``; :mod:`agenttrace_pipeline.sources.snapshots` finds the turns whose usage was logged mid-stream.
* **Context resets.** A compact summary (``isCompactSummary``) or ``compact_boundary`` system line marks a
  context reset for the next call.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from agenttrace_pipeline.sources import snapshots
from agenttrace_pipeline.sources.canonical import RECORD_ERRORS, Parsed, load_json, ms_between, open_records, span, turn
from agenttrace_pipeline.sources.claude_code_tools import refine_tools
from agenttrace_pipeline.sources.fields import Node, RecordError

FORMAT = "claude_code"
_SEPARATOR = re.compile(rb"^===== record \d+ =====[ \t\r]*$", re.M)
_CONVERSATION = ("assistant", "user", "system")


def _records(path: Path) -> list[tuple[int, bytes]]:
    """``(line, raw JSON)`` per record of a JSONL log or of TraceLab's separated dump."""
    with open_records(path) as fh:
        data = fh.read()
    if not _SEPARATOR.search(data):
        return [(i, line) for i, line in enumerate(data.splitlines(), start=1) if line.strip()]
    out, line, pos = [], 1, 0
    matches = list(_SEPARATOR.finditer(data))
    for m, stop in zip(matches, [m.start() for m in matches[1:]] + [len(data)], strict=True):
        body = data[m.end():stop].strip()
        if body:
            first = data.index(body[:1], m.end())  # where the record's JSON starts
            line += data.count(b"\n", pos, first)
            pos = first
            out.append((line, body))
    return out


class _Stream:
    """One request stream (main chain or one side chain) being assembled."""

    def __init__(self, trace_id: str) -> None:
        self.trace_id = trace_id
        self.turns: list[dict] = []
        self.by_msg: dict[str, int] = {}
        self.last_input = None
        self.prev_end = None
        self.reset_next = False
        self.tool_uses: dict[str, tuple[int, Any, str]] = {}  # tool_use id -> (turn, emitted, name)
        self.spans: list[dict] = []
        self.span_tool_ids: list[str] = []


class _Session:
    """The chains of one log file: which chain each record belongs to, and each chain's stream. ``sides``
    (session id -> side chains started) is shared by the files of one read, so a sub-agent log kept in a
    file of its own gets a chain number of its own."""

    def __init__(self, sides: dict[str, int]) -> None:
        self.chain_of: dict[str, str] = {}  # record uuid -> trace id
        self.sides = sides
        self.streams: dict[str, _Stream] = {}

    def chain(self, rec: Node) -> str | None:
        """The trace a record belongs to (None for records outside any session), following ``parentUuid``."""
        sid = rec.text("sessionId")
        if sid is None:
            return None
        parent, uuid = rec.text("parentUuid"), rec.text("uuid")
        if not rec.flag("isSidechain"):
            key = sid
        elif parent is not None and parent in self.chain_of and self.chain_of[parent] != sid:
            key = self.chain_of[parent]
        else:
            self.sides[sid] = self.sides.get(sid, 0) + 1
            key = f"{sid}:sidechain:{self.sides[sid]}"
        if uuid is not None:
            self.chain_of[uuid] = key
        return key


def read(files: list[Path], source: str) -> Parsed:
    out = Parsed(source)
    side_files: dict[Path, list] = {}
    sides: dict[str, int] = {}
    for path in files:
        try:
            records = _records(path)
        except OSError as exc:
            out.records_in += 1
            out.reject(str(path), "file", f"cannot read: {exc.strerror or exc}")
            continue
        session = _Session(sides)
        for line, raw in records:
            out.records_in += 1
            try:
                rec = Node(load_json(raw))
                trace = session.chain(rec)
                api_error = _apply(rec, session, trace, source, str(path), line)
            except RECORD_ERRORS as exc:
                out.reject_error(str(path), line, exc)
                continue
            out.accept(str(path), line, trace)
            out.api_error_records += api_error
        refine_tools(path, session.streams.values(), out, side_files)
        for st in session.streams.values():
            out.turns += st.turns
            out.spans += st.spans
    snapshots.mark(out)
    return out


def _apply(rec: Node, session: _Session, trace: str | None, source: str, file: str, line: int) -> bool:
    """Fold one record into its chain's stream; True when it is an API-error record (no LLM call)."""
    kind = rec.raw("type")
    if kind not in _CONVERSATION:
        return False
    if trace is None:
        raise RecordError("sessionId", f"missing on a {kind} record")
    ts = rec.time("timestamp")
    if ts is None:
        raise RecordError("timestamp", f"missing on a {kind} record")
    st = session.streams.setdefault(trace, _Stream(trace))
    if kind == "system":
        st.reset_next |= rec.raw("subtype") == "compact_boundary"
        return False
    msg = rec.node_or_empty("message")
    content = msg.raw("content")
    items = msg.nodes("content") if isinstance(content, list) else []
    if kind == "user":
        _user(rec, st, items, ts, source)
        return False
    if rec.flag("isApiErrorMessage") or msg.text("model") == "<synthetic>":
        return True
    _assistant(msg, st, items, ts, source, file, line)
    return False


def _user(rec: Node, st: _Stream, items: list[Node], ts, source: str) -> None:
    results = [(it.ident("tool_use_id"), it.flag("is_error")) for it in items if it.raw("type") == "tool_result"]
    st.reset_next |= rec.flag("isCompactSummary")
    for tool_id, is_error in results:
        use = st.tool_uses.pop(str(tool_id), None)
        if use is None:
            continue
        ti, emitted, name = use
        st.spans.append(span(source, st.trace_id, len(st.spans), turn_index=ti, tool_name=name,
                             started_at=emitted, ended_at=ts, is_error=is_error))
        st.span_tool_ids.append(str(tool_id))
        d = ms_between(emitted, ts)
        if d is not None:
            st.turns[ti]["tool_time_ms"] = (st.turns[ti]["tool_time_ms"] or 0.0) + d
    st.last_input = ts


def _assistant(msg: Node, st: _Stream, items: list[Node], ts, source: str, file: str, line: int) -> None:
    mid = msg.ident("id")
    usage = msg.node("usage")
    if mid is None or usage is None:
        raise RecordError("message.id" if mid is None else "message.usage", "missing on an assistant record")
    prompt = sum(usage.tokens(k) or 0 for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"))
    cached, output = usage.tokens("cache_read_input_tokens") or 0, usage.tokens("output_tokens") or 0
    model, stop = msg.text("model"), msg.text("stop_reason")
    chars = snapshots.content_chars(msg.raw("content"))
    uses = [(it.ident("id"), it.text("name")) for it in items if it.raw("type") == "tool_use"]
    if mid not in st.by_msg:
        start = st.last_input
        st.by_msg[mid] = len(st.turns)
        st.turns.append(turn(source, st.trace_id, len(st.turns), model=model, started_at=start,
                             gap_before_ms=ms_between(st.prev_end, start) if st.turns else None,
                             context_reset=st.reset_next, file=file, record=str(line),
                             _start=start, _chars=0, _stopped=False))
        st.reset_next = False
    ti = st.by_msg[mid]
    t = st.turns[ti]
    t["prompt_tokens"] = max(t["prompt_tokens"] or 0, prompt)
    t["cached_tokens"] = max(t["cached_tokens"] or 0, cached)
    t["completion_tokens"] = max(t["completion_tokens"] or 0, output)
    t["llm_latency_ms"] = ms_between(t["_start"], ts)
    t["_chars"] += chars
    t["_stopped"] |= stop is not None
    st.prev_end = ts
    for tool_id, name in uses:
        t["n_tool_calls"] += 1
        st.tool_uses[str(tool_id)] = (ti, ts, name or "tool")
