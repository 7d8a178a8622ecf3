"""The inference endpoint a replay is sent to, as a Dagster resource."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import dagster as dg

from agenttrace_pipeline.endpoints import Endpoint, load_endpoints
from agenttrace_pipeline.redact import redact_url


class InferenceEndpoint(dg.ConfigurableResource):
    """An OpenAI-compatible endpoint: ``name`` picks an entry of ``assets_config/endpoints.json`` (empty: its
    default, the built-in simulated engine); ``url``/``model``/``kind`` override it. ``api_key`` is meant for
    ``dg.EnvVar("NAME")``; otherwise the entry's ``api_key_env`` names the variable. The key is never logged or
    stored. A ``sim`` endpoint is started on a free 127.0.0.1 port for the replay and stopped afterwards."""

    name: str = ""
    url: str = ""
    model: str = ""
    kind: str = ""
    api_key: str = ""
    capacity_blocks: int = 0
    block_tokens: int = 0

    def resolved(self) -> Endpoint:
        base = load_endpoints().get(self.name or None)
        over = {k: v for k, v in (("url", self.url), ("model", self.model), ("kind", self.kind),
                                  ("capacity_blocks", self.capacity_blocks), ("block_tokens", self.block_tokens)) if v}
        return Endpoint.model_validate({**base.model_dump(), **over})

    def identity(self) -> dict[str, Any]:
        """What is stored about the endpoint: never its key, and its URL without credentials or query."""
        e = self.resolved()
        return {"endpoint_name": e.name, "endpoint_kind": e.kind, "endpoint_url": redact_url(e.url) if e.url else "",
                "endpoint_model": e.model}

    @contextlib.contextmanager
    def open(self) -> Iterator[Any]:
        """Yield the ``replay.options.EndpointSpec`` to send to (starting and stopping a simulated engine)."""
        from agenttrace_pipeline.replay.options import EndpointSpec

        e = self.resolved()
        key = self.api_key or (os.environ.get(e.api_key_env) if e.api_key_env else None) or None
        if e.kind != "sim":
            yield EndpointSpec(e.url or "", e.model, e.kind, key, e.capacity_blocks, e.block_tokens)
            return
        from agenttrace_pipeline.simserver.config import SimConfig
        from agenttrace_pipeline.simserver.serve import running_sim

        # modelled time, not wall time: the engine answers as fast as it can, its timings stay modelled
        cfg = SimConfig(model=e.model, capacity_blocks=e.capacity_blocks, block_tokens=e.block_tokens, time_scale=0.0)
        with running_sim(cfg) as handle:
            yield EndpointSpec(handle.url, handle.model, "sim", None, e.capacity_blocks, e.block_tokens)
