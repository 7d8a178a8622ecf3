"""agenttrace_pipeline: coding-agent traces → fitted distributions → synthetic Mooncake traces → replay, with lineage."""

# Read by hatch for the package metadata (pyproject: dynamic version); kept static so importing the
# package stays cheap (the validator CLI must start fast).
__version__ = "0.1.0"
