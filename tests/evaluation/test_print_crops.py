"""The print stage of a coordinate image (issue #23): print.png, its log, its anchor, resume, refusals."""

from __future__ import annotations

import csv

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import paramart
from paramart.api import check
from paramart.errors import ParamartError
from paramart.evaluation.print_crops import PrintCrops, PrintLevel, cover, epoch_length, geometric, zoom_areas
from paramart.outputs.export import render
from paramart.params.anchored import box_rows

#: a tiny field_print: a 64 px canvas, a 160 px print, 32 px crops, a small hash grid
BASE = ["experiment=field_print", "size=64", "steps=3", "schedule=single", "print.size=160", "print.crop=32",
        "print.levels=2", "progress=false", "log_every=1", "timelapse.enabled=false", "seed=3"]
PRINT = [*BASE, "param.levels=6", "param.log2_table=12", "param.prefit.steps=2"]


def _rows(run_dir) -> list[dict[str, str]]:
    with open(run_dir / "losses.csv") as f:
        return list(csv.DictReader(f))


def test_a_field_print_run_writes_print_png_at_print_size_and_logs_the_anchor(tmp_path):
    result = paramart.run(paramart.compose([*PRINT, "print.steps=3"]), tmp_path / "run")
    out = tmp_path / "run"
    final, printed = Image.open(out / "final.png"), Image.open(out / "print.png")
    assert max(final.size) == 64 and max(printed.size) == 160
    # the canvas magnified (its aspect, 64x43, not the photo's 451x300): footprints alike on both axes
    assert printed.size == (160, round(43 * 160 / 64)) and final.size == (64, 43)
    rows = _rows(out)
    assert [int(r["step"]) for r in rows] == list(range(7))  # 3 canvas steps, 3 print steps, the saved field's row
    # row k is the image after k steps, measured by step k + 1: from row 3 on, by the print stage
    assert all(float(r["anchor"]) == 0 for r in rows[:3])  # the canvas stage has no anchor
    assert all(float(r["anchor"]) > 0 and float(r["content"]) == 0 for r in rows[3:])
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 6 and tuple(ckpt["print_anchor"].shape) == (1, 3, final.size[1], final.size[0])
    # canvas.png is the canvas run's image the print is anchored to (final.png is the field after the print stage)
    canvas = torch.tensor(list(Image.open(out / "canvas.png").getdata()), dtype=torch.float32) / 255
    anchor = ckpt["print_anchor"][0].permute(1, 2, 0).reshape(-1, 3).float()
    assert (canvas - anchor).abs().max() <= 1 / 255 + 1e-6
    # print.png is the field anchored to the canvas: averaged over each canvas pixel's footprint, it is
    # the canvas (up to the clamp to [0, 1] and 8 bits), whatever detail the print stage painted
    big = torch.tensor(list(printed.getdata()), dtype=torch.float64).reshape(printed.size[1], printed.size[0], 3) / 255
    far = box_rows(final.size[1], printed.size[1]) @ big.permute(2, 0, 1) @ box_rows(final.size[0], printed.size[0]).T
    target = ckpt["print_anchor"][0].double()
    assert (far - target).pow(2).mean().sqrt() < 0.01
    unanchored = result.param.field.render(tuple(printed.size[::-1])).double()[0]
    pooled = box_rows(final.size[1], printed.size[1]) @ unanchored @ box_rows(final.size[0], printed.size[0]).T
    assert (pooled - target).pow(2).mean().sqrt() > 3 * (far - target).pow(2).mean().sqrt()  # the anchor did it
    # final.png is that far view; the checkpoint keeps the surface, and paramart-render draws the same print
    small = torch.tensor(list(final.getdata()), dtype=torch.float64).reshape(final.size[1], final.size[0], 3) / 255
    assert (small.permute(2, 0, 1) - far).abs().max() <= 1 / 255 + 1e-3
    assert tuple(ckpt["print_surface"].shape) == (3, final.size[1], final.size[0])
    again = render(out, printed.size[0], printed.size[1], tmp_path / "again.png")
    assert list(Image.open(again).getdata()) == list(printed.getdata())
    # print steps 4-5 train the field, step 6 (the last third) trains it through its anchor surface: the
    # row measured right after the exact anchor (5) has the footprints' averages on the canvas
    assert float(rows[5]["anchor"]) < 1e-3 * min(float(r["anchor"]) for r in rows[3:5])
    assert result.param.size == (final.size[1], final.size[0])


def test_a_resumed_print_stage_ends_where_an_unstopped_run_does(tmp_path):
    straight = paramart.run(paramart.compose([*PRINT, "print.steps=4"]), tmp_path / "straight")
    paramart.run(paramart.compose([*PRINT, "print.steps=2"]), tmp_path / "first")
    resumed = paramart.run(paramart.compose([*PRINT, "print.steps=4", f"resume={tmp_path / 'first'}"]),
                           tmp_path / "second")
    for a, b in zip(straight.param.parameters(), resumed.param.parameters()):
        assert torch.allclose(a, b, atol=1e-5, rtol=0), (a - b).abs().max()
    one, first, two = (_rows(tmp_path / name) for name in ("straight", "first", "second"))
    assert [r["step"] for r in two] == [r["step"] for r in one]
    # the print stage's rows are its random crops' losses, but the first run's last row is its saved
    # field's own (fixed crops), and the resumed log carries it over
    assert two[5] == first[5]
    del one[5], two[5]
    assert [float(r["total"]) for r in two] == pytest.approx([float(r["total"]) for r in one], rel=1e-4)


def test_the_anchor_is_zero_for_a_print_whose_average_is_the_canvas_whatever_its_detail():
    torch.manual_seed(0)
    canvas = torch.rand(1, 3, 8, 12)
    # a 32x48 print whose 4x4 footprints average to the canvas, with strong detail inside each
    detail = torch.randn(1, 3, 32, 48)
    detail -= F.interpolate(F.avg_pool2d(detail, 4), scale_factor=4, mode="nearest")
    big = F.interpolate(canvas, scale_factor=4, mode="nearest") + detail
    crops = PrintCrops([], canvas, 16, 1, 1.0)
    for top, left in ((8, 16), (3, 5), (13, 30)):  # aligned to the footprints or not
        assert float(crops.anchor_loss(big[..., top:top + 16, left:left + 16], (32, 48), top, left)) < 1e-10
    shifted = crops.anchor_loss(big[..., 8:24, 20:36], (32, 48), 8, 16)  # placed one canvas px off
    assert float(shifted) > 1e-2


def test_an_epoch_of_crops_covers_every_pixel_of_every_level_and_follows_from_the_seed():
    sizes = [(40, 70), (100, 150)]
    levels = [PrintLevel(size, 0, None) for size in sizes]
    crops = PrintCrops(levels, torch.zeros(1, 3, 8, 8), 32, 3, 1.0, seed=5)
    epoch = len(crops.tiles(0))
    # each level is drawn as often as its area needs: (h // 32 + 1) x (w // 32 + 1) tiles, every epoch
    for e in range(6):
        small, big = (sum(1 for t in crops.tiles(e) if t[0] == k) for k in (0, 1))
        assert (small, big) == (2 * 3, 4 * 5)
        assert len(crops.tiles(e)) == epoch_length(sizes, 32)
    for _epoch in range(3):
        seen = [torch.zeros(size, dtype=torch.bool) for size in sizes]
        for _ in range(epoch):
            level, top, left, h, w = crops.next_crop()
            seen[levels.index(level)][top:top + h, left:left + w] = True
        assert all(bool(s.all()) for s in seen)  # every pixel of every level, once an epoch
    assert crops.tiles(0) != crops.tiles(1)  # each epoch is shifted and shuffled afresh
    # a resumed stage (drawn = crops already taken) draws what an unstopped one does
    again = PrintCrops(levels, torch.zeros(1, 3, 8, 8), 32, 3, 1.0, seed=5, drawn=epoch + 7)
    fresh = PrintCrops(levels, torch.zeros(1, 3, 8, 8), 32, 3, 1.0, seed=5)
    for _ in range(epoch + 7):
        fresh.next_crop()
    assert [again.next_crop() for _ in range(9)] == [fresh.next_crop() for _ in range(9)]
    assert cover(sizes, 32, torch.Generator().manual_seed(0)) == cover(sizes, 32, torch.Generator().manual_seed(0))


def test_levels_run_geometrically_from_the_canvas_to_the_print():
    assert geometric(256, 4096, 4) == [512, 1024, 2048, 4096]
    assert geometric(256, 1024, 2) == [512, 1024]


@pytest.mark.parametrize("overrides, key", [
    (["param=pixel"], "print.size"),
    (["param=fft"], "print.size"),
    (["optim=lbfgs"], "optim=adam"),
    (["print.size=64"], "print.size=64"),
    (["print.crop=128"], "print.crop=128"),
    (["print.crop=16"], "print.crop=16"),
    (["print.style_size=5000"], "print.style_size=5000"),
    (["print.style_size=16"], "print.style_size=16"),
    (["print.size=20000"], "print.size=20000"),
    (["print.anchor=-1"], "print.anchor=-1"),
    (["print.steps=0"], "print.steps=0"),
    (["preserve_color=luminance"], "preserve_color"),
    (["param.log2_table=22", "param.finest=16384", "model.memory_budget=0.5"], "param.log2_table"),
    (["print.zoom.to=64"], "param.finest"),  # 480 px frames x 64: 30720 px across, over hashgrid_print's 8192
    (["print.zoom.to=0.5"], "print.zoom.to"),
    (["print.zoom.to=4", "print.zoom.center=[2,0]"], "print.zoom.center"),
    (["print.zoom.to=4", "print.zoom.frame=16"], "print.zoom.frame"),
])
def test_a_print_stage_that_cannot_run_is_refused_before_the_model_loads(overrides, key):
    cfg = paramart.compose([*BASE, *overrides])
    with pytest.raises(ParamartError, match=key.replace("=", "=").replace("[", r"\[")):
        check(cfg)


def test_a_coarse_to_fine_field_reloads_from_its_checkpoint(tmp_path):
    """A hash grid's tables have the shapes of the first stage's canvas (its aspect rounded at
    16 px), not the last one's: the checkpoint says so (built_size), paramart-render rebuilds it."""
    from paramart.runner.checkpoint import param_from_checkpoint

    result = paramart.run(paramart.compose([*PRINT, "schedule=multiscale", "print.steps=1"]), tmp_path / "run")
    ckpt = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert ckpt["built_size"] != ckpt["size"]
    again = param_from_checkpoint(tmp_path / "run")
    assert torch.allclose(again.render(), result.param.render(), atol=1e-5)


def test_the_zoom_path_trains_windows_past_the_print_up_to_what_the_zoom_shows():
    # a 255x384 canvas, an 8192 px print, a zoom to 64x of 480 px frames: renders 30720 px across
    areas = zoom_areas((255, 384), (5440, 8192), 64, 480, (0.35, 0.4), 256)
    assert [size[1] for size, _ in areas] == [15864, 30720]  # doubling past the print, to frame x to
    for (h, w), (top, left, wh, ww) in areas:
        assert 0 <= top and top + wh <= h and 0 <= left and left + ww <= w  # inside the render
        assert (wh, ww) == (638, 960)  # two frames' size: the frames between two levels
        assert abs((left + ww / 2) / w - 0.35) < 0.01 and abs((top + wh / 2) / h - 0.4) < 0.01
    assert zoom_areas((255, 384), (5440, 8192), 16, 480, (0.5, 0.5), 256) == []  # the print covers 16x
    # an epoch of crops covers each window and nothing outside it
    level_sizes, windows = [(40, 60)], [(100, 200, 50, 70)]
    tiles = cover([*level_sizes, *windows], 32, torch.Generator().manual_seed(1))
    assert len(tiles) == epoch_length([*level_sizes, *windows], 32)
    seen = torch.zeros(150, 270, dtype=torch.bool)
    for index, top, left in tiles:
        if index == 1:
            assert 100 <= top and top + 32 <= 150 and 200 <= left and left + 32 <= 270
            seen[top:top + 32, left:left + 32] = True
    assert bool(seen[100:150, 200:270].all()) and not bool(seen[:100].any())


def test_a_print_run_with_a_zoom_path_trains_its_windows_and_renders_its_zoom(tmp_path):
    """print.zoom.to adds the zoom's windows past the print to the print stage's levels (the run's own
    plan and stage), and the run's zoom renders."""
    from omegaconf import OmegaConf

    from paramart.api import load_model
    from paramart.objectives.color import ColorPreservation
    from paramart.objectives.transforms import RandomWarp
    from paramart.outputs.export import render as render_run
    from paramart.runner.print_stage import print_levels
    from paramart.runner.stage import build_stage

    overrides = [*PRINT, "print.steps=3", "print.zoom.to=4", "print.zoom.frame=64", "param.finest=256"]
    plan = check(paramart.compose(overrides))
    vgg = load_model(plan)
    stage = build_stage(plan, vgg, 64, 3, ColorPreservation(None, True), RandomWarp(0, 0, 0))
    levels = print_levels(plan, vgg, stage)
    assert [level.window for level in levels[:2]] == [None, None] and levels[1].size == plan.print_size
    (size, window), = zoom_areas(stage.size, plan.print_size, 4, 64, (0.5, 0.5), 32)  # 256 px across
    assert len(levels) == 3 and levels[2].size == size and levels[2].window == window and size[1] == 256
    paramart.run(paramart.compose(overrides), tmp_path / "run")
    out = render_run(tmp_path / "run", 64, None, tmp_path / "zoom.gif",
                     zoom=OmegaConf.create({"to": 4, "frames": 3, "fps": 4, "center": [0.5, 0.5]}))
    with Image.open(out) as gif:
        assert gif.n_frames == 3 and gif.size[0] == 64


def test_a_print_run_stopped_while_trained_through_its_anchor_saves_the_anchored_field_and_resumes(tmp_path):
    """Stopped in the last third of the print stage (after the exact anchor): final.png is the anchored
    field as it was, the checkpoint keeps the surface, and resume= ends where an unstopped run does."""
    from paramart.runner.events import Observer
    from paramart.runner.signals import Interrupted, request_stop, stop_on_signals

    class StopAt(Observer):
        def on_log(self, progress):
            if progress.step == 8:  # 3 canvas steps, 4 print steps, 1 step through the anchor
                request_stop("SIGINT")

    overrides = [*PRINT, "print.steps=6"]
    straight = paramart.run(paramart.compose(overrides), tmp_path / "straight")
    with pytest.raises(Interrupted), stop_on_signals():
        paramart.run(paramart.compose(overrides), tmp_path / "stopped", observers=[StopAt()])
    ckpt = torch.load(tmp_path / "stopped" / "checkpoint.pt", weights_only=True)
    assert 7 < ckpt["step"] < 10 and tuple(ckpt["print_surface"].shape) == (3, 43, 64)
    from paramart.runner.checkpoint import param_from_checkpoint

    anchored = param_from_checkpoint(tmp_path / "stopped")
    saved = torch.tensor(list(Image.open(tmp_path / "stopped" / "final.png").getdata()), dtype=torch.float32) / 255
    render = anchored.render()[0].permute(1, 2, 0).reshape(-1, 3)
    assert (saved - render).abs().max() <= 1 / 255 + 1e-4  # the anchored field, not the field alone
    resumed = paramart.run(paramart.compose([*overrides, f"resume={tmp_path / 'stopped'}"]), tmp_path / "again")
    for a, b in zip(straight.param.parameters(), resumed.param.parameters()):
        assert torch.allclose(a, b, atol=1e-5, rtol=0), (a - b).abs().max()
    assert torch.allclose(straight.param.coefficients, resumed.param.coefficients, atol=1e-5)
