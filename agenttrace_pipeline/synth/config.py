"""Generator configuration: AIPerf's ``SessionDistributionConfig`` field names, plus our extensions.

Configs are checked strictly before any work starts, and every error names the file, line and field:

* an unknown key is an error ("unknown field 'max_promt_tokens' (did you mean 'max_prompt_tokens'?)"),
  except keys starting with ``$`` (comments) and the foreign keys listed in ``IGNORED_FOREIGN_FIELDS``;
* types are strict: ``"block_size": true`` or ``"512"`` is not a block size;
* values have documented ranges (``LIMITS``) and combinations that cannot produce a sensible dataset
  (minimums that leave no room for a second turn, a restart turn no session reaches) are rejected.

Configs load by bundled name (``default``), by path to a JSON file, or from a prior run's ``manifest.json``
(its ``generation_params``).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any, Final, Literal, TypedDict

import orjson
from pydantic import AliasChoices, Field, ValidationError, model_validator

from agenttrace_pipeline import strict_json
from agenttrace_pipeline.config_errors import describe_validation_error
from agenttrace_pipeline.synth.distribution_config import (  # noqa: F401  (re-exported: the config's vocabulary)
    FAMILIES,
    Lognormal,
    MixtureComponent,
    NewTokens,
    StrictModel,
    Turns,
)
from agenttrace_pipeline.synth.feasibility import check_feasible
from agenttrace_pipeline.synth.rundir import safe_name

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

# Documented maximums: beyond them a run is a typo or a resource accident, never a workload.
class _Limits(TypedDict):
    max_prompt_tokens: int
    block_size: int
    num_groups: int
    restart_turn: int
    rate_per_s: tuple[float, float]
    time_scale: tuple[float, float]


LIMITS: Final[_Limits] = {
    "max_prompt_tokens": 100_000_000,
    "block_size": 1 << 20,
    "num_groups": 1_000_000,  # Zipf weights are held in memory: 10**9 groups took 21 GB
    "restart_turn": 100_000,
    "rate_per_s": (1e-6, 1e6),  # sessions per second; 1e-320 made every timestamp infinite
    "time_scale": (1e-6, 1e6),
}
# Keys other tools write into configs or manifests that mean nothing to this generator (ignored, by name).
IGNORED_FOREIGN_FIELDS = {
    "system_prompt_tokens": "AIPerf's removed key (AIPerf drops it too)",
}


class ConfigError(ValueError):
    """A config cannot be loaded or is invalid; the message names the source and the field."""


class InterTurnDelay(StrictModel):
    agentic_fraction: float = Field(default=0.7, ge=0, le=1)
    agentic_delay: Lognormal = Field(default_factory=lambda: Lognormal(mean=2500, median=1800))
    human_delay: Lognormal = Field(default_factory=lambda: Lognormal(mean=40000, median=25000))
    max: float | None = Field(default=None, gt=0, description="Cap (ms) applied to the mixture.")
    # what a fitted profile says about the mixture: one component (every gap from agentic_delay, human_delay
    # never drawn) or two, and how that was decided
    components: Literal[1, 2] | None = Field(default=None, description="1: a single delay law (agentic_fraction "
                                             "must be 1); 2: agentic and human components.")
    basis: str | None = Field(default=None, description="How the gaps were split (fitted profiles).")
    reason: str | None = Field(default=None, description="Why one component is enough (fitted profiles).")

    @model_validator(mode="after")
    def _one_component_means_all_agentic(self) -> InterTurnDelay:
        if self.components == 1 and self.agentic_fraction != 1.0:
            raise ValueError("components: 1 needs agentic_fraction 1.0 (every gap from agentic_delay)")
        return self


class Reset(StrictModel):
    base_probability: float = Field(default=0.02, ge=0, le=1)
    context_scaling: float = Field(default=2.0, ge=0)


class Layer15Groups(StrictModel):
    num_groups: int = Field(default=1, ge=1, le=LIMITS["num_groups"])
    zipf_alpha: float = Field(default=1.0, ge=0)


class Cache(StrictModel):
    layer1_tokens: int = Field(default=32000, ge=0)
    layer1_5_tokens: int = Field(default=0, ge=0)
    layer2: Lognormal = Field(default_factory=lambda: Lognormal(mean=16500, median=12000, min=1, max=60000))
    layer1_5_groups: Layer15Groups = Field(default_factory=Layer15Groups)


class Arrival(StrictModel):
    """Turn-0 timestamps: ``none`` (all 0, AIPerf parity), ``poisson`` at ``rate_per_s`` sessions/s, or
    ``trace``: inter-arrival times resampled from a reference Mooncake JSONL or Azure CSV trace."""

    process: Literal["none", "poisson", "trace"] = "none"
    rate_per_s: float | None = Field(default=None, ge=LIMITS["rate_per_s"][0], le=LIMITS["rate_per_s"][1])
    trace: str | None = None
    time_scale: float = Field(default=1.0, ge=LIMITS["time_scale"][0], le=LIMITS["time_scale"][1],
                              description="Multiplies resampled inter-arrival times.")

    @model_validator(mode="after")
    def _check(self) -> Arrival:
        if self.process == "poisson" and self.rate_per_s is None:
            raise ValueError("arrival.process 'poisson' needs rate_per_s")
        if self.process == "trace" and not self.trace:
            raise ValueError("arrival.process 'trace' needs trace (a Mooncake JSONL or Azure CSV path)")
        return self


class SessionDistributionConfig(StrictModel):
    """Everything that shapes a generated dataset (see README, "Generator")."""

    new_tokens_per_turn: NewTokens = Field(default_factory=lambda: NewTokens(mean=6300, median=6000, max=10000, min=1))
    generation_length: Lognormal = Field(default_factory=lambda: Lognormal(mean=1050, median=1000, min=30, max=1500))
    inter_turn_delay: InterTurnDelay = Field(default_factory=InterTurnDelay)
    reset: Reset | None = Field(default_factory=Reset)
    turns: Turns | None = None
    max_prompt_tokens: int = Field(default=167000, gt=1, le=LIMITS["max_prompt_tokens"])
    block_size: int = Field(default=512, gt=0, le=LIMITS["block_size"])
    cache: Cache = Field(default_factory=Cache)
    restart_initial_probability: float = Field(
        default=0.0, ge=0, le=1, validation_alias=AliasChoices("restart_initial_probability", "restart_fraction"))
    # lax only for the container, so a JSON list is accepted; its items stay strict integers
    restart_turn_range: tuple[int, int] = Field(default=(5, 15), strict=False)
    arrival: Arrival = Field(default_factory=Arrival)
    calibrate_new_tokens: bool = Field(
        default=True,
        description="Adjust new-token sampling so the observed (accepted) turns hit the configured mean and "
        "median despite candidates dropped at the context limit.",
    )
    fit: dict[str, Any] | None = Field(
        default=None, description="Provenance written by fitting (source, fit ids, fingerprints); not used to generate.")

    @model_validator(mode="after")
    def _check(self) -> SessionDistributionConfig:
        if self.turns is not None and self.reset is not None:
            raise ValueError("explicit turn-count mode (turns) cannot be combined with reset: set reset to null")
        if self.turns is not None and self.restart_initial_probability > 0:
            raise ValueError("explicit turn-count mode (turns) cannot be combined with restart_initial_probability > 0")
        lo, hi = self.restart_turn_range
        if not 1 <= lo < hi <= LIMITS["restart_turn"]:
            raise ValueError(f"restart_turn_range must be [lo, hi) with 1 <= lo < hi <= {LIMITS['restart_turn']:,}, "
                             f"got {[lo, hi]}")
        if self.prefix_tokens >= self.max_prompt_tokens - 1:
            raise ValueError(f"shared prefix ({self.prefix_tokens} tokens, L1 + L1.5 rounded to blocks) leaves no room "
                             f"below max_prompt_tokens ({self.max_prompt_tokens})")
        check_feasible(self)
        return self

    # derived ---------------------------------------------------------------------------------
    @property
    def layer1_blocks(self) -> int:
        return -(-self.cache.layer1_tokens // self.block_size)

    @property
    def layer1_5_blocks(self) -> int:
        return -(-self.cache.layer1_5_tokens // self.block_size)

    @property
    def prefix_tokens(self) -> int:
        """Shared layers rounded up to whole blocks, so a shared id is never a partial block."""
        return (self.layer1_blocks + self.layer1_5_blocks) * self.block_size

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=False)

    def digest(self) -> str:
        return hashlib.sha256(orjson.dumps(self.to_json_dict(), option=orjson.OPT_SORT_KEYS)).hexdigest()


def bundled_configs() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json") if p.stem != "spec")


def _plain(value: Any, path: str) -> Any:
    """``value`` as JSON would carry it: ``$`` keys (comments) dropped, numpy scalars and arrays as plain
    numbers and lists, tuples as lists; a NaN or infinite number is an error naming its path."""
    if isinstance(value, dict):
        return {k: _plain(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()
                if not (isinstance(k, str) and k.startswith("$"))}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy scalar or array
        return _plain(value.tolist(), path)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{path}: {value} is not a finite number")
    return value


def parse_config(data: dict[str, Any], source: str = "config", text: bytes | None = None) -> SessionDistributionConfig:
    """Validate a config dict; ``source`` (and the file's ``text``, for line numbers) name it in errors."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a generator config must be a JSON object, not {type(data).__name__}")
    data = {k: v for k, v in data.items() if k not in IGNORED_FOREIGN_FIELDS and not str(k).startswith("$")}
    try:
        data = _plain(data, "")
    except ValueError as exc:
        raise ConfigError(f"{source}: invalid generator config\n  {exc}") from None
    try:
        return SessionDistributionConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(source, exc, SessionDistributionConfig, text)) from None


def _find(ref_s: str) -> Path:
    from agenttrace_pipeline import settings

    candidates = [CONFIG_DIR / f"{ref_s}.json", *(d / f"{ref_s}.json" for d in settings.profile_dirs())]
    found = next((c for c in candidates if c.is_file() and ref_s != "spec"), None)
    if found is None:
        raise ConfigError(f"{ref_s}: no such config file, bundled config ({', '.join(bundled_configs())}) or "
                          f"profile in {' or '.join(str(d) for d in settings.profile_dirs())}")
    return found


def load_config(ref: str | Path) -> tuple[str, SessionDistributionConfig]:
    """Load a config by bundled name, JSON path, or prior ``manifest.json``; returns ``(name, config)``.

    The name (the file's ``name`` key, a manifest's ``config_name``, or the file name) becomes part of run
    directory names, so it is returned reduced to a safe file name (see :func:`rundir.safe_name`).
    """
    ref_s = str(ref)
    path = Path(ref_s).expanduser()
    if not path.exists():
        path = _find(ref_s)
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a config file")
    try:
        text = path.read_bytes()
        data = strict_json.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a JSON object")
    if "generation_params" in data:  # a manifest of an earlier run (ours or AIPerf's)
        name = data.get("config_name") or path.parent.name
        if not isinstance(name, str):
            raise ConfigError(f"{path}: config_name must be a string")
        return safe_name(name), parse_config(data["generation_params"], f"{path} (generation_params)")
    name = data.pop("name", path.stem)
    if not isinstance(name, str):
        raise ConfigError(f"{path}: name: must be a string")
    return safe_name(name), parse_config(data, str(path), text)


def json_schema() -> dict[str, Any]:
    """JSON Schema of a config file: unknown keys are errors, ``$``-prefixed keys (comments) are allowed."""
    schema = SessionDistributionConfig.model_json_schema(by_alias=False)
    for obj in [schema, *schema.get("$defs", {}).values()]:
        if obj.get("additionalProperties") is False:
            obj["patternProperties"] = {"^\\$": {}}
    schema["properties"]["name"] = {"type": "string", "description": "Run-directory prefix (reduced to a safe name)."}
    return schema
