"""Code location: everything under ``defs/``, with project-wide policy applied here once.

* executor: in-process (each step of Dagster's multiprocess executor re-imports the code, 3-5 s here;
  the ``regenerate_synthetic_datasets_in_parallel`` job opts into it);
* group: the asset's domain folder (``defs/<domain>/``), through :data:`GROUPS`;
* code version: a digest of the code each asset actually runs (its module's import closure), so editing
  the CLI or another domain does not make an asset stale.
"""

import warnings
from pathlib import Path

import dagster as dg

from agenttrace_pipeline.code_digest import code_version

GROUPS = {"sources": "sources", "references": "sources", "fits": "fits", "synthesis": "synthesis",
          "analysis": "analysis", "replay": "replay", "reports": "reports"}


def _module(assets_def: dg.AssetsDefinition) -> str:
    fn = assets_def.op.compute_fn
    return getattr(fn, "decorated_fn", fn).__module__


def _policy(loaded: dg.Definitions) -> dict[dg.AssetKey, dict]:
    """Per asset key: its group (from the domain folder) and the code version of its module."""
    out: dict[dg.AssetKey, dict] = {}
    for a in loaded.assets or []:
        if not isinstance(a, dg.AssetsDefinition) or not a.is_executable:
            continue
        module = _module(a)
        parts = module.split(".")
        group = GROUPS.get(parts[2]) if len(parts) > 2 and parts[1] == "defs" else None
        attrs = {"code_version": code_version(module)} | ({"group_name": group} if group else {})
        out.update(dict.fromkeys(a.keys, attrs))
    return out


@dg.definitions
def defs() -> dg.Definitions:
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).resolve().parent)
    policy = _policy(loaded)
    # an asset imported into a second module (for deps) is listed twice; mapping would duplicate its key
    unique = list({id(a): a for a in loaded.assets or []}.values())
    loaded = dg.Definitions(assets=unique, asset_checks=loaded.asset_checks, jobs=loaded.jobs,
                            schedules=loaded.schedules, sensors=loaded.sensors, resources=loaded.resources)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        loaded = loaded.map_asset_specs(func=lambda spec: spec.replace_attributes(**policy.get(spec.key, {})))
    return dg.Definitions.merge(loaded, dg.Definitions(executor=dg.in_process_executor))
