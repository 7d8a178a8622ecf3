"""Machinery shared by the assets: warehouse resource and lineage recording."""
