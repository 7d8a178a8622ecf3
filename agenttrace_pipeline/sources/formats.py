"""Source formats and the adapter that reads each: ``files, source name -> Parsed``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agenttrace_pipeline.sources import agenttrace, arrival_traces, claude_code, mini_swe_agent, openhands, tracelab
from agenttrace_pipeline.sources.canonical import Parsed

Reader = Callable[[list[Path], str], Parsed]
FORMATS: dict[str, Reader] = {
    agenttrace.FORMAT: agenttrace.read,
    openhands.FORMAT_V0: openhands.read_v0,
    openhands.FORMAT_V1: openhands.read_v1,
    mini_swe_agent.FORMAT: mini_swe_agent.read,
    claude_code.FORMAT: claude_code.read,
    tracelab.FORMAT: tracelab.read,
    arrival_traces.FORMAT_AZURE: arrival_traces.read_azure,
    arrival_traces.FORMAT_MOONCAKE: arrival_traces.read_mooncake,
}
