"""The command line: thin Hydra entry points over :mod:`paramart.api`.

``paramart`` (:func:`main`), ``paramart-gallery`` (:func:`gallery_main`) and
``paramart-render`` (:mod:`paramart.cli.render`); the Hydra callbacks that guard the run
folder (:mod:`paramart.cli.guard`) and report a sweep (:mod:`paramart.cli.sweep`); and the
Hydra half of ``resume=`` (:mod:`paramart.cli.resume`). Exit codes: :mod:`paramart.cli.exits`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from paramart.api import register_configs
from paramart.cli.exits import fail
from paramart.cli.guard import write_settings_atomically
from paramart.cli.sweep import record_failure
from paramart.errors import ParamartError
from paramart.io.claim import release
from paramart.io.runfolder import PRINT


@hydra.main(version_base="1.3", config_path="pkg://paramart.conf", config_name="config")
def _paramart(cfg: DictConfig) -> None:
    from paramart.api import run
    from paramart.cli.resume import resumed_config
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
        release(out_dir)  # nothing of a run was written: the corrected command may use the folder
        if hydra_cfg.mode == RunMode.MULTIRUN:
            # One bad job must not stop a sweep: record it for the end-of-sweep report.
            record_failure(out_dir, hydra_cfg.job.num, list(hydra_cfg.overrides.task), str(exc))
            return
        fail(str(exc))
    except Interrupted as exc:
        if not exc.saved:
            release(out_dir)
        print(f"paramart: {exc.message()}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except Exception:
        release(out_dir)  # a bug: the traceback follows; the folder holds no run
        raise
    except KeyboardInterrupt:
        release(out_dir)
        print("paramart: interrupted before anything could be saved", file=sys.stderr)
        sys.exit(130)
    if result.video is not None:
        clip = result.video
        mp4 = "final.mp4, " if (Path(out_dir) / "final.mp4").is_file() else ""
        print(f"paramart: {len(clip.frames)} frames in {sum(clip.seconds):.1f} s; wrote {out_dir}/final.gif, "
              f"{mp4}frames/", file=sys.stderr)
        return
    last = result.history.last
    summary = f"loss {last.total:.4g} after {last.step} steps in {last.seconds:.1f} s; " if last else ""
    printed = f" and {out_dir}/{PRINT}" if cfg.print.size is not None else ""
    print(f"paramart: {summary}wrote {out_dir}/final.png{printed}", file=sys.stderr)


@hydra.main(version_base="1.3", config_path="pkg://paramart.conf", config_name="gallery")
def _gallery(cfg: DictConfig) -> None:
    from paramart.outputs.gallery import build_gallery

    runs = [cfg.runs] if isinstance(cfg.runs, str) else list(cfg.runs)

    def warn(message: str) -> None:
        print(f"paramart-gallery: warning: {message}", file=sys.stderr)

    try:
        index = build_gallery(runs, cfg.out, title=cfg.title, intro=cfg.intro, warn=warn)
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
    write_settings_atomically()  # a full disk while Hydra writes .hydra/: one line, nothing half-written
    sys.argv[1:] = [preview_alias(a) for a in sys.argv[1:]]
    _paramart()


def preview_alias(arg: str) -> str:
    """``preview=true`` (what people type) means ``preview.enabled=true``; Hydra would say
    "bool is not a subclass of PreviewConfig"."""
    key, _, value = arg.partition("=")
    if key == "preview" and value.lower() in ("true", "false"):
        return f"preview.enabled={value.lower()}"
    return arg
