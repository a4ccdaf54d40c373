"""``paramart-render``: a finished run re-rendered at another size."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import paramart
from paramart.errors import ParamartError
from paramart.outputs.drawing import output_size, render_array
from paramart.outputs.export import render
from paramart.runner.checkpoint import param_from_checkpoint
from tests.conftest import paramart_cli


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny texture runs (32 px, 2 Adam steps) of three parameterizations."""
    root = tmp_path_factory.mktemp("runs")
    for name in ("cppn", "fft", "pixel"):
        paramart.stylize(style="sample:gravel", param=name, optim="adam", size=32, steps=2, progress=False,
                         overrides=["objective=texture", "optim.lr=0.05"], out_dir=root / name)
    return root


def test_console_script_writes_exactly_the_requested_size(runs, tmp_path):
    exe = str(Path(sys.executable).with_name("paramart-render"))
    res = paramart_cli(f"run={runs / 'cppn'}", "width=100", "height=60", f"out={tmp_path / 'x.png'}", "tile=32",
                       "progress=false", cwd=tmp_path, exe=exe)
    assert res.returncode == 0, res.stderr
    with Image.open(tmp_path / "x.png") as im:
        assert im.size == (100, 60) and im.mode == "RGB"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]  # no outputs/ or .hydra/ left behind
    assert "evaluated at every pixel" in res.stderr


def test_console_script_without_a_run_is_a_one_line_error(tmp_path):
    exe = str(Path(sys.executable).with_name("paramart-render"))
    res = paramart_cli(cwd=tmp_path, exe=exe)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines() == [
        "paramart-render: error: which run? give run=RUN_DIR (a paramart output folder with checkpoint.pt)"]


def test_tiles_assemble_into_the_whole_render(runs):
    param = param_from_checkpoint(runs / "cppn")
    with torch.no_grad():
        param.out.weight.normal_(0, 0.3)  # two Adam steps leave little pattern; make one
    whole = render_array(param, (45, 70), tile=1000)
    tiled = render_array(param, (45, 70), tile=16)
    assert whole.dtype == np.uint8 and whole.shape == (45, 70, 3) and whole.std() > 10
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1  # float order of operations


@pytest.mark.parametrize("name", ["fft", "pixel"])
def test_fft_and_pixel_runs_are_resampled_to_the_requested_size(runs, tmp_path, name):
    notes = []
    path = render(runs / name, 100, 60, tmp_path / f"{name}.png", log=notes.append)
    with Image.open(path) as im:
        assert im.size == (100, 60)
    assert "no detail is added" in notes[0]
    assert ("spectrum" in notes[0]) == (name == "fft")


def test_one_side_keeps_the_aspect_and_bad_output_is_refused(runs, tmp_path):
    assert output_size((300, 451), 902, None) == (600, 902)
    assert output_size((300, 451), None, None) == (300, 451)
    with pytest.raises(ParamartError, match="does not exist"):
        render(runs / "cppn", 50, 50, tmp_path / "missing" / "x.png")
    with pytest.raises(ParamartError, match=".png or .jpg"):
        render(runs / "cppn", 50, 50, tmp_path / "x.tiff")
    with pytest.raises(ParamartError, match="no checkpoint"):
        render(tmp_path, 50, 50)
