"""Replaying multi-turn Mooncake datasets against OpenAI-compatible servers (no Dagster).

Entry point: :func:`agenttrace_pipeline.replay.runner.run_replay`; options in :mod:`.options`.
"""
