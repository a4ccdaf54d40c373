"""video.field.form=canonical (issue #20, item 4): per shot one canonical image, each frame its
view along the input's flow chained from the shot's first frame."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import paramart
from paramart.io.images import to_pil
from paramart.params.canonical_field import CanonicalField
from paramart.video.canonical import displacements
from paramart.video.field_files import load_field
from tests.video.test_video import photo, window, write_mp4

av = pytest.importorskip("av")


def test_displacements_chain_the_backward_flows_from_the_first_frame():
    h, w = 20, 30
    shift = np.broadcast_to(np.array([-2.0, -1.0], np.float32), (h, w, 2)).copy()  # each frame moved by (2, 1)
    still = np.zeros((h, w, 2), np.float32)
    d = displacements([shift, shift, still], (h, w))
    assert d.shape == (4, h, w, 2) and not d[0].any()
    # pixel x of frame k shows what frame 0 showed at x - k (2, 1), edges included (the plane grows)
    for k, moved in enumerate([0, 1, 2, 2]):
        assert np.allclose(d[k], [-2.0 * moved, -1.0 * moved])
    with pytest.raises(ValueError, match="flow 1"):
        displacements([np.zeros((h, w + 1, 2), np.float32)], (h, w))


def test_consecutive_frames_are_the_canonical_image_moved_along_the_flow():
    torch.manual_seed(0)
    h, w = 24, 32
    shift = np.broadcast_to(np.array([-2.0, -1.0], np.float32), (h, w, 2)).copy()
    moves = torch.from_numpy(displacements([shift, shift], (h, w)))
    field = CanonicalField((h, w), [moves], coarsest=4, finest=64, levels=4, init_scale=1.0)
    with torch.no_grad():
        frames = [field.frame(0, field.shot_time(0, k)) for k in range(3)]
        assert frames[0].std() > 0.02  # a textured image, not a constant
        for k in (1, 2):  # frame k at (y, x) is frame k-1 at (y - 1, x - 2)
            assert torch.equal(frames[k][:, :, 1:, 2:], frames[k - 1][:, :, :-1, :-2])
        # the plane holds the camera's travel: frame 2's left and top edges are not frame 0's edges
        assert (frames[2][:, :, 2:, 4:] == frames[0][:, :, :-2, :-4]).all()
        assert not torch.equal(frames[2][:, :, :, :4], frames[0][:, :, :, :4])
        assert field.spans[0] == (h + 2, w + 4)
        assert tuple(field.frame(0, 0.25, (48, 64)).shape) == (1, 3, 48, 64)


def test_a_canonical_field_run_follows_the_input_motion(tmp_path):
    """The run's own path: three frames of the astronaut seen through a window moving (4, 2) px
    a frame ((2, 1) at the 32 px canvas, so frame k's pixel x was at x + (2, 1) in frame k-1):
    the saved field's displacements are the true motion, and each output frame is the previous
    one moved by it."""
    astronaut = photo("astronaut", 96)
    clip = write_mp4(tmp_path / "clip.mp4", [window(astronaut, 4 * k, 2 * k, (48, 64)) for k in range(3)])
    run = tmp_path / "run"
    paramart.api.run(paramart.compose([
        f"content={clip}", "video.method=field", "video.field.form=canonical", "param=hashgrid", "optim=adam",
        "optim.lr=0.01", "size=32", "steps=2", "param.prefit.steps=40", "progress=false", "video.mp4=false",
        "seed=1"]), run)
    field, data = load_field(run / "checkpoint.pt")
    assert isinstance(field, CanonicalField) and data["form"] == "canonical"
    assert data["param"]["finest"] == field.finest == 32  # one cell per canvas pixel, not param.finest
    again = np.asarray(to_pil(field.frame(0, 0.5)), dtype=np.int16)
    assert np.abs(again - np.asarray(Image.open(run / "frames" / "00001.png"), dtype=np.int16)).max() <= 1
    inner = field.moves[:, 4:-4, 6:-6]  # away from the edges, where the flow is reliable
    for k in (1, 2):
        assert torch.allclose(inner[k].median(0).values.median(0).values, torch.tensor([2.0 * k, 1.0 * k]),
                              atol=0.35)
    frames = [np.asarray(Image.open(p), dtype=np.float32) for p in sorted((run / "frames").glob("*.png"))]
    for k in (1, 2):
        moved = np.abs(frames[k][4:-5, 4:-6] - frames[k - 1][5:-4, 6:-4]).mean()
        still = np.abs(frames[k][4:-5, 4:-6] - frames[k - 1][4:-5, 4:-6]).mean()
        assert moved < 0.35 * still, (moved, still)
