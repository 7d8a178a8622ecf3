"""Code location: everything under ``defs/``, run with the in-process executor by default."""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).resolve().parent)
    # Each step of the multiprocess executor re-imports the code (3-5 s here); backfills can opt into it
    # with run config, everything else runs in one process.
    return dg.Definitions.merge(loaded, dg.Definitions(executor=dg.in_process_executor))
