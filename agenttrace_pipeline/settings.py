"""Where things live by default, and the environment variables that move them.

All environment choices are made here so asset bodies and the CLI never read the environment themselves.

| variable                 | default                                   |
|--------------------------|-------------------------------------------|
| AGENTTRACE_WAREHOUSE     | <project>/warehouse/agenttrace.duckdb     |
| AGENTTRACE_LAKE          | <folder of the DuckDB file>/lake (or a URL) |
| AGENTTRACE_OUTPUT        | <project>/outputs                         |
| AGENTTRACE_SHARED_DATA   | <project>/../shared/data                  |
| AGENTTRACE_CACHE         | <project>/.cache/downloads                |
| DAGSTER_HOME             | <project>/.dagster_home                   |
| AGENTTRACE_OFFLINE       | unset (1/true: downloads use only the cache) |
| AGENTTRACE_PROFILES      | <output>/profiles (fitted profiles)       |
| AGENTTRACE_AUTOMATION    | unset (1/true/running: schedules and sensors start RUNNING) |
| AGENTTRACE_WEEKLY_SEEDS  | 4 (how many of the newest seeds the weekly regeneration redoes) |
| AGENTTRACE_KEEP_RUNS     | 1 (run directories `agenttrace gc` keeps per seed) |
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

from agenttrace_pipeline import __version__

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def warehouse_db() -> Path:
    return _env_path("AGENTTRACE_WAREHOUSE", PROJECT_ROOT / "warehouse" / "agenttrace.duckdb")


def lake_root(db: Path | None = None) -> str:
    """The Parquet lake: a folder, or an fsspec URL such as ``s3://bucket/lake`` (AGENTTRACE_LAKE)."""
    value = os.environ.get("AGENTTRACE_LAKE", "")
    if "://" in value:
        return value
    return str(_env_path("AGENTTRACE_LAKE", (db or warehouse_db()).parent / "lake"))


def output_root() -> Path:
    return _env_path("AGENTTRACE_OUTPUT", PROJECT_ROOT / "outputs")


def shared_data() -> Path:
    return _env_path("AGENTTRACE_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data")


def download_cache() -> Path:
    return _env_path("AGENTTRACE_CACHE", PROJECT_ROOT / ".cache" / "downloads")


def profiles_dir() -> Path:
    """Where fitted profiles are written (never a tracked folder by default: runs leave tracked files alone)."""
    return _env_path("AGENTTRACE_PROFILES", output_root() / "profiles")


def published_profiles_dir() -> Path:
    """Profiles published with ``agenttrace profiles publish`` (tracked, shipped with the project)."""
    return PROJECT_ROOT / "assets_config" / "profiles"


def profile_dirs() -> list[Path]:
    """Where a profile name is looked up, in order: fitted by this installation, then published."""
    return [profiles_dir(), published_profiles_dir()]


def expand(location: str) -> str:
    """``${shared_data}`` and ``${project}`` in a configured location, expanded."""
    return location.replace("${shared_data}", shared_data().as_posix()).replace("${project}", PROJECT_ROOT.as_posix())


def portable(path: str | Path) -> str:
    """The inverse of :func:`expand` where it applies, so written configs hold no machine-specific paths."""
    p = Path(path).resolve().as_posix()
    for name, root in (("${shared_data}", shared_data()), ("${project}", PROJECT_ROOT)):
        r = root.resolve().as_posix()
        if p.startswith(r + "/"):
            return name + p[len(r):]
    return p


def user_sources_file() -> Path | None:
    """A user's own sources file (AGENTTRACE_SOURCES), which extends or replaces the bundled source list;
    None when unset."""
    value = os.environ.get("AGENTTRACE_SOURCES")
    return Path(value).expanduser().resolve() if value else None


def offline() -> bool:
    return os.environ.get("AGENTTRACE_OFFLINE", "").lower() in ("1", "true", "yes")


def automation_running() -> bool:
    """Whether the project's schedules and sensors start RUNNING in a fresh instance (else STOPPED)."""
    return os.environ.get("AGENTTRACE_AUTOMATION", "").lower() in ("1", "true", "yes", "on", "running")


def weekly_seeds() -> int:
    """How many of the newest seed partitions the weekly regeneration redoes (AGENTTRACE_WEEKLY_SEEDS)."""
    value = os.environ.get("AGENTTRACE_WEEKLY_SEEDS", "4")
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"AGENTTRACE_WEEKLY_SEEDS={value!r}: expected a whole number >= 1")
    return int(value)


def keep_runs() -> int:
    """Run directories ``agenttrace gc`` keeps per seed by default (AGENTTRACE_KEEP_RUNS, a whole number >= 0)."""
    value = os.environ.get("AGENTTRACE_KEEP_RUNS", "").strip()
    if not value:
        return 1
    if not value.isdigit():
        raise ValueError(f"AGENTTRACE_KEEP_RUNS={value!r}: expected a whole number of run directories >= 0")
    return int(value)


def dagster_home() -> Path:
    return _env_path("DAGSTER_HOME", PROJECT_ROOT / ".dagster_home")


def sql_dir() -> Path:
    """Report queries: ``warehouse/`` in a source tree, packaged copies otherwise."""
    source = PROJECT_ROOT / "warehouse"
    return source if (source / "queries").is_dir() else PACKAGE_DIR / "_warehouse_sql"


@functools.cache
def code_version() -> str:
    """Package version plus a digest of the package's source, so lineage tells code changes apart."""
    sha = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        sha.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        sha.update(path.read_bytes())
    return f"{__version__}+{sha.hexdigest()[:12]}"
