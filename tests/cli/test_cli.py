"""The ``paramart`` console script, run as a subprocess the way users run it."""

import csv
import sys

import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from tests.conftest import paramart_cli

QUICK = ["size=32", "steps=3", "log_every=1", "progress=false"]


def test_console_script_runs_end_to_end(tmp_path):
    run_dir = tmp_path / "run"
    res = paramart_cli(*QUICK, "optim=adam", "objective.tv.weight=0.01", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    for name in ("final.png", "losses.csv", "checkpoint.pt", ".hydra/config.yaml"):
        assert (run_dir / name).is_file(), name
    with Image.open(run_dir / "final.png") as im:
        assert im.mode == "RGB" and max(im.size) == 32
    rows = list(csv.DictReader(open(run_dir / "losses.csv")))
    assert [int(r["step"]) for r in rows] == [0, 1, 2, 3]  # row k: the image after k steps; the last: final.png's
    # one column per active term of the objective (the dream term is configured but weighted 0)
    assert list(rows[0]) == ["step", "total", "content", "style", "tv", "seconds"]
    parts = float(rows[-1]["content"]) + float(rows[-1]["style"]) + float(rows[-1]["tv"])
    assert float(rows[-1]["total"]) == pytest.approx(parts, rel=1e-4)
    ckpt = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert ckpt["param_config"]["_target_"] == "paramart.params.pixel.Pixel"
    saved = OmegaConf.load(run_dir / ".hydra/config.yaml")
    assert saved.optim._target_ == "torch.optim.Adam" and saved.size == 32


def test_python_dash_m_and_texture_without_content(tmp_path):
    import subprocess

    run_dir = tmp_path / "tex"
    res = subprocess.run([sys.executable, "-m", "paramart", *QUICK, "content=null", f"hydra.run.dir={run_dir}"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    with Image.open(run_dir / "final.png") as im:
        assert im.size == (32, 32)
    header = open(run_dir / "losses.csv").readline().strip()
    assert header == "step,total,style,seconds"  # no content image: the content term is off


def test_unknown_option_fails_without_traceback(tmp_path):
    res = paramart_cli("no_such_option=1", cwd=tmp_path)
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    assert "no_such_option" in res.stderr


def test_wrong_type_fails_with_hydra_message(tmp_path):
    res = paramart_cli("size=big", cwd=tmp_path)
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    assert "size" in res.stderr


def test_unknown_param_key_fails(tmp_path):
    res = paramart_cli("param.colour=red", cwd=tmp_path)
    assert res.returncode != 0 and "Traceback" not in res.stderr


def test_missing_image_is_a_one_line_error(tmp_path):
    res = paramart_cli(*QUICK, "style=/nonexistent/painting.jpg", f"hydra.run.dir={tmp_path / 'r'}", cwd=tmp_path)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert lines == ["paramart: error: image not found: /nonexistent/painting.jpg (give a file path or sample:NAME)"]


def test_every_parameterization_runs_with_and_without_content(tmp_path):
    """One Hydra sweep: the four parameterizations x style transfer and texture synthesis."""
    sweep = tmp_path / "sweep"
    params = ["pixel", "fft", "cppn", "fourier_cppn"]
    res = paramart_cli("-m", "size=32", "steps=2", "progress=false", "optim=adam", f"param={','.join(params)}",
                       "objective=style_transfer,texture", f"hydra.sweep.dir={sweep}", cwd=tmp_path, timeout=600)
    assert res.returncode == 0, res.stderr
    runs = {}
    for job in sweep.iterdir():
        if job.is_dir() and (job / ".hydra").is_dir():
            cfg = OmegaConf.load(job / ".hydra/config.yaml")
            runs[(cfg.param._target_.rsplit(".", 2)[1], cfg.objective.content.weight > 0)] = job
    assert sorted(runs) == sorted((p, c) for p in params for c in (True, False))
    for (param, with_content), job in runs.items():
        with Image.open(job / "final.png") as im:
            # chelsea (451x300) sets the canvas with content; texture synthesis is square
            assert im.size == ((32, 21) if with_content else (32, 32)), (param, with_content)
        rows = list(csv.DictReader(open(job / "losses.csv")))
        assert [int(r["step"]) for r in rows][-1] == 2
        assert ("content" in rows[-1] and float(rows[-1]["content"]) > 0) == with_content
        ckpt = torch.load(job / "checkpoint.pt", weights_only=True)
        assert ckpt["param_config"]["_target_"].split(".")[2] == param
