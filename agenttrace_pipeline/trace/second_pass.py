"""The validator's second pass: lines of first sightings, read again only for what needs them.

The first pass keeps neither the line where each hash id was first seen nor the lines of closed sessions
(that would cost more memory than everything else); when it finds a conflict or a repeated session it
looks them up here.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from agenttrace_pipeline.trace.reader import TraceReadError, iter_lines


def first_sightings(path: str | Path, ids: set[int], sids: set[str], max_line_bytes: int,
                    ) -> tuple[dict[int, int], dict[str, list[tuple[int, int]]]]:
    """Line where each of ``ids`` first appears, and the runs ``(first line, last line)`` of the rows of
    each session in ``sids``, in file order."""
    found: dict[int, int] = {}
    runs: dict[str, list[tuple[int, int]]] = {}
    prev_sid, prev_line = None, 0
    try:
        for line_no, raw, _ in iter_lines(path, max_line_bytes):
            try:
                row = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if type(row) is not dict:
                continue
            hs = row.get("hash_ids")
            if ids and type(hs) is list:
                for h in ids.intersection(x for x in hs if type(x) is int):
                    found.setdefault(h, line_no)
            sid = row.get("session_id")
            if sids and type(sid) is str and sid in sids:
                mine = runs.setdefault(sid, [])
                if sid == prev_sid and mine and mine[-1][1] == prev_line:
                    mine[-1] = (mine[-1][0], line_no)
                else:
                    mine.append((line_no, line_no))
            prev_sid, prev_line = sid, line_no
    except (TraceReadError, OSError):
        pass  # the first pass reported why the file cannot be read this far
    return found, runs
