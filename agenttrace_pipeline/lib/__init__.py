"""Dagster machinery the domains share (the warehouse resource, lineage recording). Kept out of ``defs/`` so
the definitions loader does not scan it; the core library never imports it."""
