"""The source-change sensor (requests a refit when a configured source changes) and the sensor that evaluates
the assets' automation conditions (so a new profile flows on to datasets, simulations, replays and reports)."""

import hashlib

import dagster as dg
import httpx

from agenttrace_pipeline import settings
from agenttrace_pipeline.defs.automation import fingerprints as fp
from agenttrace_pipeline.defs.automation.status import sensor_status
from agenttrace_pipeline.defs.jobs import refit_from_sources
from agenttrace_pipeline.sources.config import SourceConfigError, load_sources

REFIT_GROUPS = ("sources", "fits")
HEAD_TIMEOUT_S = 10.0


def refit_selection(asset_graph, changed: list[str]) -> list[dg.AssetKey]:
    """The changed sources' raw assets and everything they feed within the sources and fits groups."""
    raw = [dg.AssetKey(f"{name}_raw") for name in changed]
    selection = dg.AssetSelection.assets(*raw).downstream() & dg.AssetSelection.groups(*REFIT_GROUPS)
    return sorted(selection.resolve(asset_graph), key=lambda k: k.to_user_string())


@dg.sensor(job=refit_from_sources, minimum_interval_seconds=300, default_status=sensor_status())
def source_change(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """Every 5 minutes: fingerprint each configured source (sha256 of local files, HEAD validators of URLs;
    URLs are not checked when AGENTTRACE_OFFLINE=1). The first tick records a baseline; later, a changed source
    evicts its stale cached downloads and requests a refit of it (one run per distinct change, by run key)."""
    try:
        specs = load_sources()
    except SourceConfigError as exc:
        return dg.SkipReason(f"the source list is invalid, nothing checked: {exc}")
    prev = fp.State.load(context.cursor)
    if settings.offline():
        obs = fp.observe(specs, prev, None)
    else:
        with httpx.Client(timeout=HEAD_TIMEOUT_S, follow_redirects=True) as client:
            obs = fp.observe(specs, prev, client)
    for note in obs.notes:
        context.log.warning(note)
    cursor = obs.state.dump()
    changed = fp.changed_sources(prev, obs.state)
    assert context.repository_def is not None  # the daemon and build_sensor_context(definitions=…) give it
    graph = context.repository_def.asset_graph
    known = {k.to_user_string() for k in graph.get_all_asset_keys()}
    missing = [n for n in changed if f"{n}_raw" not in known]
    if missing:
        context.log.warning(f"sources {missing} changed but have no asset in the loaded code; reload the code location")
    changed = [n for n in changed if n not in missing]
    if not changed:
        why = "baseline recorded" if not prev.sources else "no source changed"
        return dg.SensorResult(skip_reason=dg.SkipReason(f"{why} ({len(obs.state.sources)} sources)"), cursor=cursor)
    for path in fp.evict_cached(obs.changed_urls):
        context.log.info(f"evicted the stale cached download {path}")
    key = hashlib.sha256(" ".join(f"{n}={obs.state.sources[n]}" for n in changed).encode()).hexdigest()[:16]
    request = dg.RunRequest(run_key=f"sources-{key}",
                            asset_selection=refit_selection(graph, changed),
                            tags={"agenttrace/trigger": "source_change", "agenttrace/changed_sources": ",".join(changed)})
    context.log.info(f"sources changed: {', '.join(changed)}; requesting a refit")
    return dg.SensorResult(run_requests=[request], cursor=cursor)


# One sensor for every asset's automation condition (replacing Dagster's default one, which would start
# RUNNING), so AGENTTRACE_AUTOMATION switches it with the rest. Multi-seed requests become one backfill.
automation_conditions = dg.AutomationConditionSensorDefinition(
    "automation_conditions",
    target=dg.AssetSelection.all(),
    default_status=sensor_status(),
    minimum_interval_seconds=60,
    description="Evaluates the assets' automation conditions: after a new generator profile, every seed's "
    "dataset is regenerated, then its quality, simulation, pages, replay and the report follow.",
)
