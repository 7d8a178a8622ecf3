"""The Mooncake row contract: field names, key order, limits and the block size shared by every reader,
the validator, the writer, the generator and the cache simulator."""

from __future__ import annotations

from typing import Final

# Tokens per hash-id block in FAST'25 traces and AIPerf's default: the one place the number 512 lives.
BLOCK_SIZE: Final = 512
DEFAULT_BLOCK_SIZE: Final = BLOCK_SIZE  # older name, kept for callers

# Key order of a written row: identity first, then sizes, then ids, then timing and flags.
KEY_ORDER: Final = (
    "session_id",
    "input_length",
    "output_length",
    "hash_ids",
    "timestamp",
    "delay",
    "group_id",
    "is_restart",
)

# AIPerf's mooncake loader accepts exactly one of these as the request's input.
INPUT_FIELDS: Final = ("input_length", "text_input", "messages", "payload")

# Sanity bounds: a trace with values beyond these is corrupt, not a workload.
MAX_TOKENS: Final = 2**31 - 1
MAX_HASH_ID: Final = 2**63 - 1
MAX_TIME_MS: Final = 1e15  # ~31,000 years

# Longest line a reader accepts. A row of a 1M-token prompt with 2,000 ids is ~40 KB; a line far beyond
# that is corrupt (or not a trace), and reading it whole would make memory grow with the line.
MAX_LINE_BYTES: Final = 16 << 20


def expected_blocks(input_length: int, block_size: int = BLOCK_SIZE) -> int:
    """Number of hash ids a row of ``input_length`` tokens carries: ``ceil(input_length / block_size)``."""
    return -(-input_length // block_size)


def last_block_size(input_length: int, n_blocks: int, block_size: int = BLOCK_SIZE) -> int:
    """Tokens in the last (possibly partial) block of a row."""
    return input_length - (n_blocks - 1) * block_size
