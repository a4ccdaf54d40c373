"""Coordinate images (issue 13): hash grids, Fourier features, photo pre-fit, zoom training,
seamless tiling and zoom animations. Small sizes, few steps."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.errors import InstantiationException
from PIL import Image

from paramart.api import compose
from paramart.errors import ParamartError
from paramart.evaluation.zoom_training import random_crop
from paramart.params.base import build_param
from paramart.params.coordinates import pixel_step
from paramart.params.prefit import fit_to_image
from tests.conftest import paramart_cli, sample_tensor, visible_pattern

#: MSE to the 48 px cat photo after 60 Adam steps (lr 0.01) of the pre-fit (measured: cppn
#: without Fourier features 0.0096, with 64 0.0021, hashgrid 0.00008; the start is 0.0275)
PREFIT = {"cppn": (0.013, ["param.fourier_features=0"]), "cppn_ff": (0.004, ["param.fourier_features=64"]),
          "hashgrid": (0.0005, [])}


def build(name, overrides=(), size=(32, 48), init_image=None):
    return build_param(compose([f"param={name}", *overrides]).param, size, init_image)


@pytest.mark.parametrize("name", sorted(PREFIT))
def test_prefit_fits_the_photo(name):
    torch.manual_seed(0)
    photo = sample_tensor("chelsea", 48)
    threshold, extra = PREFIT[name]
    param = build(name.removesuffix("_ff"), extra, size=tuple(photo.shape[-2:]), init_image=photo)
    assert param.prefit is not None and param.prefit.steps == 200  # init=auto with a photo
    before = torch.nn.functional.mse_loss(param.render(), photo).item()
    losses = fit_to_image(param, photo, steps=60, lr=0.01)
    after = torch.nn.functional.mse_loss(param.render(), photo).item()
    assert len(losses) == 60 and before > 0.02 and after < threshold
    assert build(name.removesuffix("_ff"), ["param.init=none"], init_image=photo).prefit is None
    with pytest.raises((ParamartError, InstantiationException), match="param.init=content needs a content image"):
        build("hashgrid", ["param.init=content"])


def test_a_run_starts_from_the_photo_and_the_timelapse_shows_the_fit(tmp_path):
    """steps=0: the saved image is the pre-fit alone; its frames come before step 0's."""
    r = paramart_cli("param=hashgrid", "size=32", "steps=0", "param.prefit.steps=40", "param.prefit.lr=0.02",
                     "timelapse.keep_frames=true", "progress=false", f"hydra.run.dir={tmp_path}", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    photo = sample_tensor("chelsea", 32)
    from paramart.io.images import load_image, to_tensor

    final = to_tensor(load_image(str(tmp_path / "final.png")))
    assert torch.nn.functional.mse_loss(final, photo).item() < 0.01
    assert len(list((tmp_path / "frames").glob("*.png"))) >= 8


@pytest.mark.parametrize("name", ["cppn_faithful", "hashgrid"])
def test_a_zoomed_crop_downsampled_matches_the_whole_render(name):
    torch.manual_seed(0)
    # a smooth image: a 2x crop's pixel pairs average to the 1x pixel between them (the Distill
    # CPPN; param=cppn's 128 Fourier features put detail below 2 px)
    extra = ["param.levels=3", "param.coarsest=4", "param.finest=12"] if name == "hashgrid" else []
    param = visible_pattern(build(name, extra))
    whole = param.render()
    big, top, left = random_crop(param.size, 2.0, torch.Generator().manual_seed(3))
    top, left = top - top % 2, left - left % 2  # on the 1x grid
    crop = param.region(big, top, left, *param.size)
    assert crop.requires_grad  # zoom training backpropagates through it
    h, w = param.size
    there = whole[..., top // 2 : top // 2 + h // 2, left // 2 : left // 2 + w // 2]
    assert (torch.nn.functional.avg_pool2d(crop.detach(), 2) - there).abs().mean() < 0.01


def test_antialias_makes_the_canvas_a_larger_render_averaged_down():
    """Detail far finer than the canvas's pixels (zoom training puts it there): with
    param.antialias the canvas is close to a 4x render averaged down; without, the fine
    levels alias into pixel noise (measured: 0.031 vs 0.066 mean absolute error)."""
    errors = {}
    for antialias in (False, True):
        torch.manual_seed(0)
        param = visible_pattern(build("hashgrid", ["param.levels=6", "param.coarsest=8", "param.finest=512",
                                           f"param.antialias={antialias}", "param.init=none"]))
        h, w = param.size
        with torch.no_grad():
            small, big = param.render(), param.render_region((4 * h, 4 * w), 0, 0, 4 * h, 4 * w)
        errors[antialias] = (torch.nn.functional.avg_pool2d(big, 4) - small).abs().mean().item()
    assert errors[True] < 0.6 * errors[False]
    gains = param.level_gains(pixel_step(param.size, param.size))  # at the canvas's own pixels
    assert gains[0] == 1 and gains[-1] < 0.2 and (gains[1:] <= gains[:-1]).all()
    # a checkpoint saved before the key existed renders as it was trained: without it
    from omegaconf import OmegaConf

    from paramart.params.base import check_param_config

    saved = OmegaConf.to_container(compose(["param=hashgrid"]).param)
    del saved["antialias"]
    assert check_param_config(saved)[1]["antialias"] is False


@pytest.mark.parametrize("name", ["cppn", "hashgrid"])
def test_periodic_images_tile_without_a_seam(name):
    torch.manual_seed(0)
    extra = ["param.periodic=true"] + (["param.fourier_features=16"] if name == "cppn" else [])
    param = visible_pattern(build(name, extra))
    h, w = param.size
    tile = param.render()
    # the canvas continues into itself: the next tile to the right and below is the same image
    assert torch.allclose(param.render_region((h, w), h, w, h, w), tile, atol=1e-3)  # float32 phases
    # across the edge the image steps no more than between neighbouring columns inside it
    seam = (tile[..., :, -1] - tile[..., :, 0]).abs().mean()
    inside = (tile[..., :, 1:] - tile[..., :, :-1]).abs().mean()
    assert seam < 2 * inside
    plain = visible_pattern(build(name, ["param.fourier_features=16"] if name == "cppn" else []))
    assert not torch.allclose(plain.render_region((h, w), h, w, h, w), plain.render(), atol=1e-2)


def test_zoom_training_and_zoom_animation_through_the_clis(tmp_path):
    run = tmp_path / "run"
    # a pre-fit to the photo gives the image structure, so that no two frames are the same
    r = paramart_cli("param=hashgrid", "param.prefit.steps=30", "optim=adam", "optim.lr=0.01", "size=32", "steps=2",
                     "zoom.levels=[1,2,4]", "timelapse.enabled=false", "progress=false", f"hydra.run.dir={run}",
                     cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    header, row = (run / "losses.csv").read_text().splitlines()[:2]
    zoom = float(row.split(",")[header.split(",").index("zoom")])
    assert zoom > 0
    exe = str(Path(sys.executable).with_name("paramart-render"))
    r = paramart_cli(f"run={run}", "width=40", "height=24", "zoom.to=16", "zoom.frames=6",
                     f"out={tmp_path / 'zoom.gif'}", "progress=false", cwd=tmp_path, exe=exe)
    assert r.returncode == 0, r.stderr
    with Image.open(tmp_path / "zoom.gif") as gif:
        assert gif.n_frames == 6 and gif.size == (40, 24)
        first = gif.convert("RGB")
        gif.seek(5)
        assert first.tobytes() != gif.convert("RGB").tobytes()  # it moved


def test_bad_zoom_settings_are_one_line_errors(tmp_path):
    r = paramart_cli("param=pixel", "size=32", "steps=1", "zoom.levels=[1,2]", f"hydra.run.dir={tmp_path}",
                     cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip().startswith("paramart: error: zoom.levels needs a coordinate")


def test_render_repeats_a_periodic_run_and_refuses_others(tmp_path):
    from paramart.outputs.export import render
    from paramart.runner.checkpoint import save_checkpoint

    torch.manual_seed(0)
    for periodic in (True, False):
        cfg = compose(["param=hashgrid", f"param.periodic={str(periodic).lower()}"]).param
        param = visible_pattern(build_param(cfg, (16, 24), None))
        run = tmp_path / f"run_{periodic}"
        run.mkdir()
        from omegaconf import OmegaConf

        save_checkpoint(run / "checkpoint.pt", param, OmegaConf.to_container(cfg), step=1)
        if not periodic:
            with pytest.raises(ParamartError, match="param.periodic=true"):
                render(run, repeat=2)
            continue
        path = render(run, repeat=2)
        assert path.name == "render_48x32_tiled2x2.png"
        with Image.open(path) as im:
            tiled = np.asarray(im)
        assert tiled.shape == (32, 48, 3)
        assert np.abs(tiled[:16, :24].astype(int) - tiled[16:, 24:].astype(int)).max() <= 1


def test_init_content_without_a_photo_is_a_one_line_error(tmp_path):
    r = paramart_cli("param=hashgrid", "param.init=content", "objective=texture", "size=32", "steps=1",
                     f"hydra.run.dir={tmp_path}", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip().startswith("paramart: error: param.init=content needs")
