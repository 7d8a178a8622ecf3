"""A simulated vLLM-like engine: OpenAI-compatible HTTP over the cache simulator's block pool and cost model.

Start one with :func:`agenttrace_pipeline.simserver.serve.running_sim` (a context manager) or
``agenttrace serve-sim``; settings are :class:`agenttrace_pipeline.simserver.config.SimConfig`.
"""
