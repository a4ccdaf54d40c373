"""Thin Hydra entry points over :mod:`paramart.api`.

Exit codes: 0 done; 2 bad input or environment (one line on stderr); 130/143 stopped by
SIGINT/SIGTERM after saving; 1 a bug (Hydra prints the traceback).
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import NoReturn

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, ListConfig, OmegaConf

from paramart.config import register_configs
from paramart.errors import ParamartError
from paramart.runner.sweep import record_failure


def fail(message: str) -> NoReturn:
    """One line on stderr and exit code 2: bad input, not a bug.

    With ``HYDRA_FULL_ERROR=1`` the traceback comes first, for bug reports.
    """
    if os.environ.get("HYDRA_FULL_ERROR") == "1" and sys.exc_info()[0] is not None:
        traceback.print_exc()
    print(f"paramart: error: {message}", file=sys.stderr)
    sys.exit(2)


def _override_key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def resumed_config(cfg: DictConfig, overrides: list[str], out_dir: str | Path) -> DictConfig:
    """For ``resume=RUN_DIR``: the resumed run's command-line overrides, then this one's.

    So ``paramart resume=outputs/DAY/TIME steps=400`` needs no repeat of the content,
    style or size. The new run folder's ``.hydra/config.yaml`` and ``overrides.yaml`` are
    rewritten to what actually ran, so it can be resumed in turn. A run made from Python
    has no ``.hydra`` folder: then this run's config must repeat its settings.
    """
    run_dir = Path(str(cfg.resume)).expanduser()
    run_dir = run_dir.parent if run_dir.is_file() else run_dir
    saved = run_dir / ".hydra" / "overrides.yaml"
    if not saved.is_file():
        return cfg
    try:
        old = OmegaConf.load(saved)
        assert isinstance(old, ListConfig)
    except Exception:
        raise ParamartError(f"resume={cfg.resume}: cannot read {saved}; repeat that run's options by hand") from None
    mine = {_override_key(o) for o in overrides}
    merged = [str(o) for o in old if _override_key(str(o)) not in mine | {"resume"}] + list(overrides)
    try:
        cfg = hydra.compose(config_name="config", overrides=merged)
    except Exception as exc:
        raise ParamartError(f"resume={cfg.resume}: its options no longer apply ({exc})") from None
    hydra_dir = HydraConfig.get().output_subdir
    if hydra_dir is not None:
        from paramart.io.images import atomic_write

        for name, node in (("config.yaml", cfg), ("overrides.yaml", OmegaConf.create(merged))):
            text = OmegaConf.to_yaml(node)
            atomic_write(Path(out_dir) / hydra_dir / name, lambda tmp, text=text: Path(tmp).write_text(text))
    return cfg


@hydra.main(version_base="1.3", config_path="pkg://paramart.conf", config_name="config")
def _paramart(cfg: DictConfig) -> None:
    from paramart.api import run
    from paramart.runner.signals import Interrupted, stop_on_signals

    hydra_cfg = HydraConfig.get()
    out_dir = hydra_cfg.runtime.output_dir
    try:
        # SIGINT and SIGTERM save the run and land in `except Interrupted` below.
        with stop_on_signals():
            if cfg.get("resume"):
                cfg = resumed_config(cfg, list(hydra_cfg.overrides.task), out_dir)
            result = run(cfg, out_dir)
    except ParamartError as exc:
        if hydra_cfg.mode == RunMode.MULTIRUN:
            # One bad job must not stop a sweep: record it for the end-of-sweep report.
            record_failure(out_dir, hydra_cfg.job.num, list(hydra_cfg.overrides.task), str(exc))
            return
        fail(str(exc))
    except Interrupted as exc:
        print(f"paramart: {exc.message()}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("paramart: interrupted before anything could be saved", file=sys.stderr)
        sys.exit(130)
    last = result.history.last
    summary = f"loss {last.total:.4g} after {last.step} steps in {last.seconds:.1f} s; " if last else ""
    print(f"paramart: {summary}wrote {out_dir}/final.png", file=sys.stderr)


@hydra.main(version_base="1.3", config_path="pkg://paramart.conf", config_name="gallery")
def _gallery(cfg: DictConfig) -> None:
    from paramart.outputs.gallery import build_gallery

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
