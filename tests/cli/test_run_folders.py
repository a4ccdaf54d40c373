"""One run, one folder (issue #21, kind 3): a folder that holds a run is refused unless
``overwrite=true``, the dated default is made afresh, the claim is atomic, and
``paramart-render`` never replaces a run's own files."""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module

from paramart.api import register_configs
from paramart.errors import ParamartError
from paramart.io import claim
from tests.conftest import paramart_cli

QUICK = ["timelapse.enabled=false", "progress=false"]


def test_a_second_run_into_a_folder_is_refused(tmp_path):
    run_dir = tmp_path / "D"
    first = paramart_cli("style=sample:gravel", "size=32", "steps=2", *QUICK, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    names = ("final.png", "checkpoint.pt", "losses.csv", ".hydra/overrides.yaml")
    kept = {n: (run_dir / n).read_bytes() for n in names}

    second = paramart_cli("style=sample:coffee", "size=48", "steps=3", *QUICK, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert second.returncode == 2
    assert second.stderr.strip().splitlines() == [
        f"paramart: error: hydra.run.dir={run_dir} already holds a run (final.png, checkpoint.pt, losses.csv, "
        "run.json, .paramart-run); give another folder, or add overwrite=true to replace it"]
    assert {n: (run_dir / n).read_bytes() for n in kept} == kept  # the first run is all there
    claim.claim(run_dir, overwrite=True)  # what overwrite=true does with it
    claim.release(run_dir)

    # paramart-render never replaces the run's own files, unless asked to
    render = str(Path(sys.executable).with_name("paramart-render"))
    res = paramart_cli(f"run={run_dir}", "width=40", f"out={run_dir / 'final.png'}", "progress=false",
                       cwd=tmp_path, exe=render)
    assert res.returncode == 2 and "is a file of the run in" in res.stderr, res.stderr
    assert (run_dir / "final.png").read_bytes() == kept["final.png"]
    for name in ("final.png", "checkpoint.pt", "inputs/content.jpg", ".hydra/config.yaml"):
        assert claim.own_file(run_dir / name) == run_dir.resolve(), name
    assert claim.own_file(run_dir / "render_40x26.png") is None and claim.own_file(tmp_path / "x.png") is None


def _try_claim(folder: str, result) -> None:
    claim._mine.clear()  # a fresh process as far as claims go
    try:
        claim.claim(folder)
        result.put("claimed")
    except ParamartError:
        result.put("refused")


def test_simultaneous_claims_get_one_folder(tmp_path):
    context = multiprocessing.get_context("fork")
    result = context.Queue()
    procs = [context.Process(target=_try_claim, args=(str(tmp_path / "same"), result)) for _ in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    outcomes = sorted(result.get(timeout=5) for _ in procs)
    assert outcomes == ["claimed"] + ["refused"] * 7


def _guard_config(tmp_path: Path, hydra_overrides: list[str]):
    register_configs()
    with initialize_config_module(config_module="paramart.conf", version_base="1.3"):
        cfg = compose(config_name="config", overrides=hydra_overrides, return_hydra_config=True)
    cfg.hydra.run.dir = str(tmp_path / "outputs" / "12-00-00")
    return cfg


def test_the_dated_default_folder_is_made_afresh(tmp_path):
    from paramart.cli.guard import RunDirGuard

    taken = tmp_path / "outputs" / "12-00-00"
    taken.mkdir(parents=True)
    (taken / "final.png").write_bytes(b"a run started in the same second")
    (tmp_path / "outputs" / "12-00-00-1").mkdir()
    os.close(os.open(tmp_path / "outputs" / "12-00-00-1" / claim.MARKER, os.O_CREAT | os.O_WRONLY))
    cfg = _guard_config(tmp_path, [])
    RunDirGuard().on_run_start(cfg)
    assert cfg.hydra.run.dir == str(tmp_path / "outputs" / "12-00-00-2")
    assert (tmp_path / "outputs" / "12-00-00-2" / claim.MARKER).is_file()
    # a folder the person named is refused instead
    named = _guard_config(tmp_path, [f"hydra.run.dir={taken}"])
    named.hydra.run.dir = str(taken)
    with pytest.raises(SystemExit) as info:
        RunDirGuard().on_run_start(named)
    assert info.value.code == 2
