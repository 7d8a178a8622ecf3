"""The configured distribution of one quantity (lognormal by default, or a fitted family)."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agenttrace_pipeline.synth.feasibility import check_in_range_mass


class StrictModel(BaseModel):
    """Unknown keys are errors, types are strict (``true`` is not a number, ``"512"`` not an integer), and
    numbers are finite."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, populate_by_name=True,
                              validate_assignment=True)


FAMILIES = ("lognormal", "gamma", "weibull", "fisk", "exponential", "lognormal_mixture", "empirical")
_SHAPED = {"gamma", "weibull", "fisk"}


class MixtureComponent(StrictModel):
    weight: float = Field(gt=0)
    mu: float
    sigma: float = Field(gt=0)


class Lognormal(StrictModel):
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
        check_in_range_mass(self)
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


class Turns(Lognormal):
    allow_truncation: bool = False
    max_session_attempts: int | None = Field(default=None, ge=1)
    on_exhausted: Literal["error", "resample"] = Field(
        default="error",
        description="After max_session_attempts without fitting: abort the run naming the session ('error', "
        "AIPerf's behaviour) or draw a new target turn count for that session ('resample').",
    )
