"""Sweeps through Hydra's basic launcher, joblib, and submitit's local mode."""

import json

import pytest

from paramart.cli.sweep import sweep_status
from tests.conftest import paramart_cli

TINY = ["size=32", "steps=2", "progress=false", "optim=adam", "timelapse.enabled=false"]


def test_a_bad_job_fails_alone_and_is_reported(tmp_path):
    sweep = tmp_path / "sweep"
    res = paramart_cli("-m", *TINY, "style=sample:coffee,/no/such/painting.jpg", f"hydra.sweep.dir={sweep}",
                       cwd=tmp_path)
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    assert (sweep / "0" / "final.png").is_file()
    assert not (sweep / "1" / "final.png").exists()
    failure = json.loads((sweep / "1" / "FAILED.json").read_text())
    assert failure["job"] == 1 and "image not found: /no/such/painting.jpg" in failure["error"]
    assert f"paramart: sweep {sweep}: 1 finished, 1 failed" in res.stderr
    assert "job 1 (" in res.stderr and "style=/no/such/painting.jpg" in res.stderr


@pytest.mark.parametrize("launcher", ["parallel", "slurm_local"])
def test_launcher_runs_each_job_in_its_own_directory(launcher, tmp_path):
    sweep = tmp_path / "sweep"
    res = paramart_cli("-m", f"hydra/launcher={launcher}", *TINY, "style=sample:coffee,sample:retina",
                       f"hydra.sweep.dir={sweep}", cwd=tmp_path, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    done, failed = sweep_status(sweep)
    assert done == [sweep / "0", sweep / "1"] and failed == []
    styles = {json.loads((job / "run.json").read_text())["style"] for job in done}
    assert styles == {"sample:coffee", "sample:retina"}
    if launcher == "slurm_local":
        assert (sweep / ".submitit").is_dir()  # submitit's own logs and pickles
