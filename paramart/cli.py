"""Thin Hydra entry points over :mod:`paramart.api`."""

from __future__ import annotations

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from paramart.config import register_configs
from paramart.errors import ParamartError
from paramart.sweep import record_failure


def fail(message: str) -> None:
    """One line on stderr and exit code 2: bad input, not a bug."""
    print(f"paramart: error: {message}", file=sys.stderr)
    sys.exit(2)


@hydra.main(version_base="1.3", config_path="pkg://paramart.conf", config_name="config")
def _paramart(cfg: DictConfig) -> None:
    from paramart.api import run

    hc = HydraConfig.get()
    out_dir = hc.runtime.output_dir
    try:
        result = run(cfg, out_dir)
    except ParamartError as exc:
        if hc.mode == RunMode.MULTIRUN:
            # One bad job must not stop a sweep: record it for the end-of-sweep report.
            record_failure(out_dir, hc.job.num, list(hc.overrides.task), str(exc))
            return
        fail(str(exc))
    last = result.history.last
    summary = f"loss {last.total:.4g} after {last.step} steps in {last.seconds:.1f} s; " if last else ""
    print(f"paramart: {summary}wrote {out_dir}/final.png", file=sys.stderr)


@hydra.main(version_base="1.3", config_path="pkg://paramart.conf", config_name="gallery")
def _gallery(cfg: DictConfig) -> None:
    from paramart.gallery import build_gallery

    runs = [cfg.runs] if isinstance(cfg.runs, str) else list(cfg.runs)
    try:
        index = build_gallery(runs, cfg.out, title=cfg.title, intro=cfg.intro)
    except ParamartError as exc:
        fail(str(exc))
    print(f"paramart-gallery: wrote {index}", file=sys.stderr)


def gallery_main() -> None:
    """``paramart-gallery runs=DIR out=SITE``: a static gallery of finished runs."""
    register_configs()
    _gallery()


def main() -> None:
    """``paramart``: style transfer / texture synthesis configured by Hydra overrides."""
    register_configs()
    _paramart()
