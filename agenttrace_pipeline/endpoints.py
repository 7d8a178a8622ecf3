"""Inference endpoints replays are sent to: ``assets_config/endpoints.json``, read as a pydantic model.

File: ``{"default": NAME, "endpoints": [{name, kind, url, model, api_key_env, capacity_blocks, block_tokens,
endpoint}, …]}``. ``kind`` is ``sim`` (the built-in simulated engine, started on a free 127.0.0.1 port for the
replay and stopped afterwards; no ``url``), ``vllm``, ``sglang`` or ``llamacpp`` (a ``url`` is required).
``api_key_env`` names the environment variable that holds the key: the key itself is never written in the
file, logged or stored. ``capacity_blocks`` / ``block_tokens``: the server's KV cache, for the simulator's
hit-rate prediction beside the measured ones.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agenttrace_pipeline import settings
from agenttrace_pipeline.config_errors import did_you_mean, known_fields


class EndpointConfigError(ValueError):
    """endpoints.json is unreadable or invalid; the message names the file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Endpoint(_Strict):
    name: str
    kind: Literal["sim", "vllm", "sglang", "llamacpp"]
    url: str | None = None
    model: str = "sim"
    api_key_env: str | None = None
    capacity_blocks: int | None = Field(default=None, ge=1)
    block_tokens: int = Field(default=16, ge=1)
    endpoint: Literal["completions", "chat"] = "completions"

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", v):
            raise ValueError(f"name {v!r}: letters, digits, '_', '-', '.'")
        return v

    @model_validator(mode="after")
    def _url_for_servers(self) -> Endpoint:
        if self.kind != "sim" and not self.url:
            raise ValueError(f"endpoint {self.name!r} of kind {self.kind!r} needs a url")
        if self.url and not re.match(r"https?://", self.url):
            raise ValueError(f"url of {self.name!r} must start with http:// or https://")
        return self


class EndpointsFile(_Strict):
    comment: str | None = Field(default=None, alias="$comment")
    default: str
    endpoints: list[Endpoint]

    @model_validator(mode="after")
    def _names(self) -> EndpointsFile:
        names = [e.name for e in self.endpoints]
        if len(set(names)) != len(names):
            raise ValueError("endpoint names must be unique")
        if self.default not in names:
            raise ValueError(f"default {self.default!r} is not one of the endpoints {names}")
        return self

    def get(self, name: str | None = None) -> Endpoint:
        wanted = name or self.default
        for e in self.endpoints:
            if e.name == wanted:
                return e
        raise EndpointConfigError(f"no endpoint named {wanted!r}; configured: {[e.name for e in self.endpoints]}")


def default_path() -> Path:
    return settings.PROJECT_ROOT / "assets_config" / "endpoints.json"


def load_endpoints(path: str | Path | None = None) -> EndpointsFile:
    """Read and check the endpoints file; raises :class:`EndpointConfigError` naming the file and field."""
    path = Path(path) if path else default_path()
    try:
        from agenttrace_pipeline.strict_json import loads

        data = loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise EndpointConfigError(f"{path}: cannot read the endpoints file ({exc})") from None
    try:
        return EndpointsFile.model_validate(data)
    except ValidationError as exc:
        raise EndpointConfigError(f"{path}: " + "; ".join(_problem(e) for e in exc.errors())) from None


def _problem(e: Any) -> str:
    loc = tuple(e["loc"])
    if e["type"] == "extra_forbidden":
        field = ".".join(str(p) for p in loc[:-1]) or "(file)"
        return f"{field}: unknown field {loc[-1]!r}{did_you_mean(str(loc[-1]), known_fields(EndpointsFile, loc[:-1]))}"
    return f"{'.'.join(str(p) for p in loc) or '(file)'}: {e['msg'].removeprefix('Value error, ')}"


def dumps(cfg: EndpointsFile) -> bytes:
    return orjson.dumps(cfg.model_dump(by_alias=True, exclude_none=True), option=orjson.OPT_INDENT_2)
