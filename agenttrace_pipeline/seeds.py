"""Seed partition keys: what a seed is, and how ranges like ``10-12`` expand."""

from __future__ import annotations

MAX_SEED = 2**64 - 1


def validate_seed(text: str) -> str:
    """A seed partition key: a non-negative integer below 2**64, written without sign or leading zeros."""
    t = text.strip()
    if not t.isdigit() or not t.isascii() or (len(t) > 1 and t[0] == "0") or int(t) > MAX_SEED:
        raise ValueError(f"bad seed {text!r}: seeds are whole numbers from 0 to {MAX_SEED} (e.g. 42)")
    return t


def parse_seeds(specs: list[str]) -> list[str]:
    """``["7", "10-12"]`` → ``["7", "10", "11", "12"]``; raises ValueError naming a bad item."""
    keys: list[str] = []
    for spec in specs:
        for part in spec.split(","):
            part = part.strip()
            lo, sep, hi = part.partition("-")
            if not sep or not lo:
                keys.append(validate_seed(part))
                continue
            a, b = int(validate_seed(lo)), int(validate_seed(hi))
            if b < a:
                raise ValueError(f"bad seed range {part!r}: the end is below the start (did you mean {hi}-{lo}?)")
            if b - a >= 10_000:
                raise ValueError(f"bad seed range {part!r}: at most 10,000 seeds at once")
            keys += [str(i) for i in range(a, b + 1)]
    if not keys:
        raise ValueError("no seeds given")
    return list(dict.fromkeys(keys))
