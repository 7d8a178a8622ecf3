"""Generator configuration: AIPerf's ``SessionDistributionConfig`` field names, plus our extensions.

Unknown keys are kept (so AIPerf configs and manifests load) but invalid values are errors that name the
field. Configs load by bundled name (``default``), by path to a JSON file, or from a prior run's
``manifest.json`` (its ``generation_params``).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, model_validator

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


class ConfigError(ValueError):
    """A config cannot be loaded or is invalid; the message names the source and the field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, validate_assignment=True)


FAMILIES = ("lognormal", "gamma", "weibull", "fisk", "exponential", "lognormal_mixture", "empirical")
_SHAPED = {"gamma", "weibull", "fisk"}


class MixtureComponent(_Model):
    weight: float = Field(gt=0)
    mu: float
    sigma: float = Field(gt=0)


class Lognormal(_Model):
    """A positive quantity. By default lognormal in real space: ``mu = ln(median)``,
    ``sigma = sqrt(2 ln(mean/median))`` (AIPerf's form; ``mean == median`` is a constant; ``mu``/``sigma``
    override mean/median). Fitted profiles may use another ``family``:

    * ``gamma`` / ``weibull`` / ``fisk`` (log-logistic): ``params`` = {shape, scale};
    * ``exponential``: ``params`` = {scale};
    * ``lognormal_mixture``: ``components`` = [{weight, mu, sigma}, …];
    * ``empirical``: ``quantiles`` = values at evenly spaced probabilities 0 … 1 (a quantile table).

    Draws outside ``[min, max]`` are redrawn (lognormal, up to 100 rounds, then clamped) or drawn from the
    truncated distribution directly (other families); integer quantities are floored.
    """

    family: Literal["lognormal", "gamma", "weibull", "fisk", "exponential", "lognormal_mixture", "empirical"] = "lognormal"
    mean: float | None = Field(default=None, gt=0)
    median: float | None = Field(default=None, gt=0)
    min: float | None = Field(default=None, ge=0)
    max: float | None = Field(default=None, gt=0)
    mu: float | None = None
    sigma: float | None = Field(default=None, ge=0)
    params: dict[str, float] | None = None
    components: list[MixtureComponent] | None = None
    quantiles: list[float] | None = None

    @model_validator(mode="after")
    def _check(self) -> Lognormal:
        f = self.family
        if f == "lognormal" and (self.mu is None or self.sigma is None):
            if self.mean is None or self.median is None:
                raise ValueError("give mean and median (or mu and sigma)")
            if self.mean < self.median:
                raise ValueError(f"mean ({self.mean}) must be >= median ({self.median}) for a lognormal")
        if f in _SHAPED and not (self.params and self.params.get("shape", 0) > 0 and self.params.get("scale", 0) > 0):
            raise ValueError(f"family {f!r} needs params {{shape > 0, scale > 0}}")
        if f == "exponential" and not (self.params and self.params.get("scale", 0) > 0):
            raise ValueError("family 'exponential' needs params {scale > 0}")
        if f == "lognormal_mixture" and not self.components:
            raise ValueError("family 'lognormal_mixture' needs components [{weight, mu, sigma}, …]")
        if f == "empirical":
            q = self.quantiles or []
            if len(q) < 2 or any(b < a for a, b in zip(q, q[1:], strict=False)) or q[0] < 0:
                raise ValueError("family 'empirical' needs quantiles: >= 2 non-negative, non-decreasing values")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) must be <= max ({self.max})")
        return self

    @property
    def log_mu(self) -> float:
        return self.mu if self.mu is not None else math.log(self.median)  # type: ignore[arg-type]

    @property
    def log_sigma(self) -> float:
        if self.sigma is not None:
            return self.sigma
        return math.sqrt(2.0 * math.log(self.mean / self.median))  # type: ignore[operator]


class NewTokens(Lognormal):
    bias: float = Field(default=1.0, gt=0, description="Multiplies every draw: sampling uses mu + ln(bias).")


class InterTurnDelay(_Model):
    agentic_fraction: float = Field(default=0.7, ge=0, le=1)
    agentic_delay: Lognormal = Field(default_factory=lambda: Lognormal(mean=2500, median=1800))
    human_delay: Lognormal = Field(default_factory=lambda: Lognormal(mean=40000, median=25000))
    max: float | None = Field(default=None, gt=0, description="Cap (ms) applied to the mixture.")


class Reset(_Model):
    base_probability: float = Field(default=0.02, ge=0, le=1)
    context_scaling: float = Field(default=2.0, ge=0)


class Turns(Lognormal):
    allow_truncation: bool = False
    max_session_attempts: int | None = Field(default=None, ge=1)
    on_exhausted: Literal["error", "resample"] = Field(
        default="error",
        description="After max_session_attempts without fitting: abort the run naming the session ('error', "
        "AIPerf's behaviour) or draw a new target turn count for that session ('resample').",
    )


class Layer15Groups(_Model):
    num_groups: int = Field(default=1, ge=1)
    zipf_alpha: float = Field(default=1.0, ge=0)


class Cache(_Model):
    layer1_tokens: int = Field(default=32000, ge=0)
    layer1_5_tokens: int = Field(default=0, ge=0)
    layer2: Lognormal = Field(default_factory=lambda: Lognormal(mean=16500, median=12000, min=1, max=60000))
    layer1_5_groups: Layer15Groups = Field(default_factory=Layer15Groups)


class Arrival(_Model):
    """Turn-0 timestamps: ``none`` (all 0, AIPerf parity), ``poisson`` at ``rate_per_s`` sessions/s, or
    ``trace``: inter-arrival times resampled from a reference Mooncake JSONL or Azure CSV trace."""

    process: Literal["none", "poisson", "trace"] = "none"
    rate_per_s: float | None = Field(default=None, gt=0)
    trace: str | None = None
    time_scale: float = Field(default=1.0, gt=0, description="Multiplies resampled inter-arrival times.")

    @model_validator(mode="after")
    def _check(self) -> Arrival:
        if self.process == "poisson" and self.rate_per_s is None:
            raise ValueError("arrival.process 'poisson' needs rate_per_s")
        if self.process == "trace" and not self.trace:
            raise ValueError("arrival.process 'trace' needs trace (a Mooncake JSONL or Azure CSV path)")
        return self


class SessionDistributionConfig(_Model):
    """Everything that shapes a generated dataset (see README, "Generator")."""

    new_tokens_per_turn: NewTokens = Field(default_factory=lambda: NewTokens(mean=6300, median=6000, max=10000, min=1))
    generation_length: Lognormal = Field(default_factory=lambda: Lognormal(mean=1050, median=1000, min=30, max=1500))
    inter_turn_delay: InterTurnDelay = Field(default_factory=InterTurnDelay)
    reset: Reset | None = Field(default_factory=Reset)
    turns: Turns | None = None
    max_prompt_tokens: int = Field(default=167000, gt=0)
    block_size: int = Field(default=512, gt=0)
    cache: Cache = Field(default_factory=Cache)
    restart_initial_probability: float = Field(
        default=0.0, ge=0, le=1, validation_alias=AliasChoices("restart_initial_probability", "restart_fraction"))
    restart_turn_range: tuple[int, int] = (5, 15)
    arrival: Arrival = Field(default_factory=Arrival)
    calibrate_new_tokens: bool = Field(
        default=True,
        description="Adjust new-token sampling so the observed (accepted) turns hit the configured mean and "
        "median despite candidates dropped at the context limit.",
    )

    @model_validator(mode="after")
    def _check(self) -> SessionDistributionConfig:
        if self.turns is not None and self.reset is not None:
            raise ValueError("explicit turn-count mode (turns) cannot be combined with reset: set reset to null")
        if self.turns is not None and self.restart_initial_probability > 0:
            raise ValueError("explicit turn-count mode (turns) cannot be combined with restart_initial_probability > 0")
        lo, hi = self.restart_turn_range
        if not 1 <= lo < hi:
            raise ValueError(f"restart_turn_range must be [lo, hi) with 1 <= lo < hi, got {[lo, hi]}")
        if self.prefix_tokens >= self.max_prompt_tokens - 1:
            raise ValueError(f"shared prefix ({self.prefix_tokens} tokens, L1 + L1.5 rounded to blocks) leaves no room "
                             f"below max_prompt_tokens ({self.max_prompt_tokens})")
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


def _format_errors(source: str, exc: ValidationError) -> str:
    lines = []
    for e in exc.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(config)"
        lines.append(f"  {loc}: {e['msg']}")
    return f"{source}: invalid generator config\n" + "\n".join(lines)


def parse_config(data: dict[str, Any], source: str = "config") -> SessionDistributionConfig:
    try:
        return SessionDistributionConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(source, exc)) from None


def load_config(ref: str | Path) -> tuple[str, SessionDistributionConfig]:
    """Load a config by bundled name, JSON path, or prior ``manifest.json``; returns ``(name, config)``."""
    ref_s = str(ref)
    path = Path(ref_s).expanduser()
    if not path.exists():
        from agenttrace_pipeline import settings

        candidates = [CONFIG_DIR / f"{ref_s}.json", settings.profiles_dir() / f"{ref_s}.json"]
        found = next((c for c in candidates if c.exists() and ref_s != "spec"), None)
        if found is None:
            raise ConfigError(f"{ref_s}: no such config file, bundled config ({', '.join(bundled_configs())}) "
                              f"or fitted profile in {settings.profiles_dir()}")
        path = found
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a JSON object")
    if "generation_params" in data:  # a manifest of an earlier run
        name = str(data.get("config_name") or path.parent.name)
        return name, parse_config(data["generation_params"], f"{path} (generation_params)")
    data = {k: v for k, v in data.items() if not k.startswith("$")}
    name = str(data.pop("name", path.stem))
    return name, parse_config(data, str(path))


def json_schema() -> dict[str, Any]:
    return SessionDistributionConfig.model_json_schema(by_alias=False)
