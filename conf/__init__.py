"""Hydra configs of paramart, packaged as ``paramart.conf`` (see pyproject.toml)."""
