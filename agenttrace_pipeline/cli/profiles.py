"""`agenttrace profiles`: fitted generator profiles."""

from __future__ import annotations

from typing import Annotated

import typer

from agenttrace_pipeline import settings
from agenttrace_pipeline.cli.console import fail_early, out

app = typer.Typer(rich_markup_mode=None, help="Fitted generator profiles: list them, publish one into the project.", no_args_is_help=True)


@app.command("list")
def profiles_list() -> None:
    """Profiles fitted here (AGENTTRACE_PROFILES) and published ones (assets_config/profiles), by name."""
    for folder in settings.profile_dirs():
        names = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
        out.print(f"{folder}: {' '.join(names) or '(none)'}", highlight=False)


@app.command("publish")
def profiles_publish(
    name: Annotated[str, typer.Argument(help="A fitted profile's name, e.g. fitted_pooled_coding_agents.")],
) -> None:
    """Copy a fitted profile into assets_config/profiles/ (a tracked folder: commit it to share it)."""
    import re
    import shutil

    from agenttrace_pipeline.store.atomic import atomic_path
    from agenttrace_pipeline.synth.config import ConfigError, load_config

    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name.startswith("."):
        fail_early(f"bad profile name {name!r}: letters, digits, '_', '-', '.'")
    src = settings.profiles_dir() / f"{name}.json"
    if not src.is_file():
        fail_early(f"no fitted profile {name!r} in {settings.profiles_dir()} (run `agenttrace run` first)")
    try:
        load_config(src)
    except ConfigError as exc:
        fail_early(f"{src} is not a valid generator config: {exc}")
    dest = settings.published_profiles_dir() / f"{name}.json"
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
    out.print(f"published {name}: {dest}")
