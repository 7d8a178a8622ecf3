"""Jobs: the main job materialises every asset (and runs every check)."""

import dagster as dg

materialize_all = dg.define_asset_job(
    "materialize_all",
    selection=dg.AssetSelection.all(),
    description="Every asset and check; for partitioned assets, the chosen seed partition.",
)
