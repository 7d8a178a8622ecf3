"""Stage one (empty) partition of ``synthetic_datasets`` (deferred, not committed), say so on stderr, and wait to be killed.

Usage: ``python stage_and_wait.py SEED``; the warehouse comes from the environment."""

from __future__ import annotations

import sys
import time

from agenttrace_pipeline.store.tables import TABLES
from agenttrace_pipeline.store.warehouse import Warehouse

wh = Warehouse(deferred=True)
wh.write_partition("synthetic_datasets", "seed", sys.argv[1], TABLES["synthetic_datasets"].empty())
print("staged", flush=True, file=sys.stderr)
time.sleep(600)
