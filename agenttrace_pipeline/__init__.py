"""agenttrace_pipeline: coding-agent traces → fitted distributions → synthetic Mooncake traces → replay, with lineage."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("agenttrace-pipeline")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+local"
