"""Offline KV-cache simulation over hash-id traces."""
