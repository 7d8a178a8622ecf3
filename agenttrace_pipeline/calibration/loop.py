"""The whole loop against the CPU build of vLLM: measure → calibrate → predict → check on unseen data.

1. the vLLM virtualenv and the tiny model (built once, reused);
2. vLLM started in its own process group with prefix caching, prompt-token details and a KV cache small enough
   that eviction matters (its block size and count are read back from ``/metrics``);
3. dataset A (profile ``cpu-agent``) replayed against it: the three hit rates (cache simulator with vLLM
   semantics at vLLM's block count, Δ server counters, usage ``cached_tokens``) and the prompt-token rule;
4. the calibration sweep, fitted into a named preset (:mod:`.fit`); with ``match_replay`` the preset is then
   matched to dataset A's replay by simulation (:mod:`.refine`). That is off by default: on the shared 2-core
   machine what it learns from A (A's engine slowed by its own load) did not carry to B;
5. dataset B (profile ``cpu-chat``, another seed) replayed against vLLM, then again (``check_repeats``) for the
   engine's own spread; vLLM is then stopped and B is replayed against ``serve-sim`` with the preset and vLLM's
   KV geometry (its usable blocks: vLLM sets one aside); the first vLLM run and the simulator's are compared,
   beside how far vLLM's repeat moved;
6. the calibration and the comparison written to the warehouse with lineage.

Each replay starts from an empty prefix cache (``/reset_prefix_cache``, which vLLM serves with
``VLLM_SERVER_DEV_MODE=1``), as the simulator's prediction assumes.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from agenttrace_pipeline import settings
from agenttrace_pipeline.calibration import compare as cmp
from agenttrace_pipeline.calibration.fit import Fit, fit_samples, write_preset
from agenttrace_pipeline.calibration.refine import refine
from agenttrace_pipeline.calibration.sweep import SweepPlan, replay_samples, run_sweep
from agenttrace_pipeline.calibration.vllm_cpu import VllmSettings, ensure_model, ensure_venv, running_vllm
from agenttrace_pipeline.calibration.workloads import make_dataset
from agenttrace_pipeline.replay.options import EndpointSpec, ReplayOptions, ReplayResult, usable_blocks
from agenttrace_pipeline.replay.runner import run_replay
from agenttrace_pipeline.simserver.serve import free_port

Say = Callable[[str], None]


@dataclass(frozen=True)
class LoopConfig:
    """Where things go and how big they are; ``cache`` holds the venv and model (``.cache`` of the project)."""

    out: Path
    cache: Path = field(default_factory=lambda: settings.PROJECT_ROOT / ".cache")
    preset_name: str = "cpu-vllm-tiny"
    calib_sessions: int = 30
    check_sessions: int = 30
    calib_seed: int = 1
    check_seed: int = 2
    kv_blocks: int = 256
    port: int | None = None  # None: a free loopback port
    sweep: SweepPlan = field(default_factory=SweepPlan)
    match_replay: bool = False  # also match the preset to replay A by simulation (see calibration.refine)
    check_repeats: int = 2  # B replayed this many times against vLLM: the first is compared, the rest give its spread
    warehouse: Any = None  # a Warehouse, or None to skip storing


@dataclass
class LoopResult:
    block_size: int
    num_blocks: int
    seen: ReplayResult
    fit: Fit
    preset_path: Path
    comparison: cmp.Comparison
    ids: dict[str, str]
    samples: pl.DataFrame


def replay_options() -> ReplayOptions:
    """Fixed schedule at the dataset's own pace, from an empty prefix cache."""
    return ReplayOptions(mode="fixed", time_scale=1.0, flush_cache=True, scrape_every_s=0.5, timeout_s=300.0)


def run_loop(cfg: LoopConfig, say: Say = print) -> LoopResult:
    """Run every step (see the module docstring); the vLLM process group is stopped whatever happens."""
    say("vLLM CPU virtualenv (installed once) ...")
    py = ensure_venv(cfg.cache / "vllm-cpu", log=cfg.cache / "vllm-cpu-install.log")
    model = ensure_model(py, cfg.cache / "tiny-llama")
    data = cfg.out / "datasets"
    seen_ds = make_dataset("cpu-agent", sessions=cfg.calib_sessions, seed=cfg.calib_seed, root=data)
    check_ds = make_dataset("cpu-chat", sessions=cfg.check_sessions, seed=cfg.check_seed, root=data)
    vs = VllmSettings(model.resolve(), port=cfg.port or free_port(), kv_blocks=cfg.kv_blocks,
                      max_model_len=cfg.sweep.max_model_len)
    opts = replay_options()
    say(f"starting vLLM on 127.0.0.1:{vs.port} (log {cfg.out / 'vllm.log'}) ...")
    with running_vllm(py, vs, cfg.out / "vllm.log") as h:
        say(f"vLLM ready: {h.num_blocks} KV blocks × {h.block_size} tokens")
        ep = EndpointSpec(h.url, h.model, "vllm", None, h.num_blocks, h.block_size)
        seen = run_replay(seen_ds, ep, opts)
        say(f"replay A: {_rates(seen)}")
        plan = SweepPlan(**{**cfg.sweep.__dict__, "capacity_tokens": h.num_blocks * h.block_size})
        samples = pl.concat([run_sweep(h.url, h.model, plan), replay_samples(seen.requests)])
        fit = fit_samples(samples, name=cfg.preset_name, max_batch_tokens=vs.max_batched_tokens,
                          source=f"vLLM-CPU tiny Llama (2 layers, hidden 128), {h.num_blocks} blocks × {h.block_size}")
        if cfg.match_replay:
            m = refine(fit.engine, seen_ds, seen.requests, block_tokens=h.block_size, capacity_blocks=usable_blocks("vllm", h.num_blocks),
                       max_seqs=vs.max_seqs, max_batch_tokens=vs.max_batched_tokens, options=opts)
            fit = dataclasses.replace(fit, engine=m.engine, replay=m.to_dict())
            say(f"matched to replay A by simulation: prefill steps × {m.prefill_load:.2f}, decode steps × "
                f"{m.decode_load:.2f}, request {m.request_ms:.1f} ms (TTFT p10/p50/p90, e2e p10/p50/p90, per-token "
                f"p50/p90 errors {_pcts(m.errors('before'))} → {_pcts(m.errors('after'))})")
        preset = write_preset(fit, cfg.out / "presets" / f"{cfg.preset_name}.json")
        samples.write_parquet(preset.parent / "fits" / f"{preset.stem}.samples.parquet")
        say(f"preset {preset}: {fit.engine.source}")
        check_opts = dataclasses.replace(opts, predict_engine=str(preset))  # B's prediction timed by the preset
        real = run_replay(check_ds, ep, check_opts)
        again = []
        for i in range(1, max(1, cfg.check_repeats)):
            say(f"replay B against vLLM again ({i + 1} of {cfg.check_repeats}): its own spread ...")
            again.append(run_replay(check_ds, ep, check_opts))
    say("vLLM stopped; replaying B against serve-sim with the preset ...")
    sim = cmp.replay_against_sim(check_ds, preset, block_tokens=h.block_size, capacity_blocks=usable_blocks("vllm", h.num_blocks),
                                 max_seqs=vs.max_seqs, max_batch_tokens=vs.max_batched_tokens, options=check_opts)
    c = cmp.compare(real, sim, tuple(again))
    runs = [("seen_vllm", seen), ("check_vllm", real), ("check_sim", sim)]
    for name, r in [*runs, *((f"check_vllm_repeat{i + 1}", r) for i, r in enumerate(again))]:
        r.requests.write_parquet(cfg.out / f"requests_{name}.parquet")
    ids = {"calibration": cmp.new_id("cal"), "comparison": cmp.new_id("cmp")}
    res = LoopResult(h.block_size, h.num_blocks, seen, fit, preset, c, ids, samples)
    if cfg.warehouse is not None:
        save(cfg.warehouse, res, ep, check_ds, opts)
    return res


def _rates(r: ReplayResult) -> str:
    h = r.hit_rates
    return ", ".join(f"{k} {'n/a' if h[k] is None else f'{100 * h[k]:.2f} %'}"
                     for k in ("simulator", "server_counters", "usage_cached_tokens"))


def _pcts(errors: list[float]) -> str:
    return " ".join(f"{100 * e:+.0f} %" for e in errors)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save(wh: Any, res: LoopResult, ep: EndpointSpec, dataset: Path, opts: ReplayOptions) -> None:
    """Write ``engine_calibrations`` and ``replay_comparisons`` (with lineage) for a finished loop."""
    from agenttrace_pipeline.store.lineage import frame_fingerprint

    f, cal_id, cmp_id = res.fit, res.ids["calibration"], res.ids["comparison"]
    samples_sha = frame_fingerprint(res.samples)
    cal = pl.DataFrame([{
        "calibration_id": cal_id, "preset": f.engine.name, "endpoint_kind": ep.kind, "endpoint_url": ep.url,
        "endpoint_model": ep.model, "block_tokens": res.block_size, "capacity_blocks": res.num_blocks,
        "samples": f.samples, "params": cmp.json_text(f.preset()), "prefill_r2": f.prefill.r2,
        "prefill_rel_p50": f.prefill.rel_p50, "prefill_rel_p90": f.prefill.rel_p90, "decode_r2": f.decode.r2,
        "decode_rel_p50": f.decode.rel_p50, "decode_rel_p90": f.decode.rel_p90, "preset_path": str(res.preset_path),
        "samples_sha256": samples_sha}])
    cmp.store(wh, "engine_calibrations", cal_id, cal, asset="engine_calibration",
              inputs={"samples": samples_sha, "endpoint": ep.url}, outputs=[str(res.preset_path)])
    sim_ep = EndpointSpec("serve-sim", "sim", "sim", None, res.num_blocks, res.block_size)
    rows = cmp.comparison_frame(res.comparison, comparison_id=cmp_id, calibration_id=cal_id, preset=f.engine.name,
                                dataset_id=dataset.parent.name, options=opts,
                                engine_identity=cmp.identity("vllm-cpu", ep), sim_identity=cmp.identity("serve-sim", sim_ep))
    cmp.store(wh, "replay_comparisons", cmp_id, rows, asset="replay_comparison",
              inputs={"dataset": _sha(dataset), "preset": _sha(res.preset_path), "calibration": cal_id})
