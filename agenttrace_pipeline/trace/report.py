"""What the validator reports: violations (line, field, reason) and the report of one file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: ``line`` (1-based; 0 for the whole file), the ``field`` concerned and why."""

    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


@dataclass
class ValidationReport:
    """Outcome of :func:`agenttrace_pipeline.trace.validate_file`."""

    path: str
    block_size: int
    readable: bool = True
    rows: int = 0
    sessions: int = 0
    form: str = "empty"  # "single-turn", "multi-turn" or "empty"
    distinct_hash_ids: int = 0
    violations: list[Violation] = field(default_factory=list)
    violation_count: int = 0
    stopped_early: bool = False
    compressed: bool = False  # the file was gzip-compressed (and read decompressed)
    index_bytes: int = 0  # memory the cross-row checks held at the end (hash-id sizes, closed sessions)

    @property
    def valid(self) -> bool:
        return self.readable and self.violation_count == 0

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ValidationReport:
        """Inverse of :meth:`to_dict` (used to read a report from a validator child process)."""
        return cls(
            path=d["file"], block_size=d["block_size"], readable=d["readable"], rows=d["rows"],
            sessions=d["sessions"], form=d["form"], distinct_hash_ids=d["distinct_hash_ids"],
            violations=[Violation(v["line"], v["field"], v["reason"]) for v in d["violations"]],
            violation_count=d["violation_count"], stopped_early=d["stopped_early"],
            compressed=d.get("compressed", False), index_bytes=d.get("index_bytes", 0),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "valid": self.valid,
            "readable": self.readable,
            "block_size": self.block_size,
            "form": self.form,
            "rows": self.rows,
            "sessions": self.sessions,
            "distinct_hash_ids": self.distinct_hash_ids,
            "violation_count": self.violation_count,
            "stopped_early": self.stopped_early,
            "compressed": self.compressed,
            "index_bytes": self.index_bytes,
            "violations": [{"line": v.line, "field": v.field, "reason": v.reason} for v in self.violations],
        }
