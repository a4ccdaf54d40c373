"""The anchored print (paramart.params.anchored): its far view is the canvas, exactly."""

from __future__ import annotations

import pytest
import torch

from paramart.errors import ParamartError
from paramart.params.anchored import AnchoredField, anchor_field, box_rows, footprints, print_average, spline_rows
from paramart.params.base import build_param
from paramart.runner.checkpoint import param_from_checkpoint, save_checkpoint


def _field(size=(12, 20)):
    """A small hash grid with random tables (strong detail at every scale), and its config."""
    from omegaconf import OmegaConf

    from paramart.api import compose

    torch.manual_seed(0)
    node = compose(["param=hashgrid", "param.levels=4", "param.log2_table=10", "param.coarsest=4",
                    "param.finest=256", "param.width=16", "param.init=none", "param.init_scale=0.3"]).param
    config = OmegaConf.to_container(node, resolve=True)
    return build_param(config, size, None), config


def test_box_rows_are_the_footprints_of_the_whole_axis_and_average():
    rows = box_rows(7, 30)
    assert torch.allclose(rows.sum(1), torch.ones(7, dtype=torch.float64))
    part, k0, k1 = footprints(0, 30, 7 / 30)
    assert (k0, k1) == (0, 7) and torch.allclose(part.double(), rows, atol=1e-6)


def test_the_spline_basis_is_a_partition_of_unity_inside_and_at_the_edges():
    u = torch.linspace(-0.5, 9.5, 101)
    rows, k0 = spline_rows(u, 10)
    assert k0 == 0 and torch.allclose(rows.sum(1), torch.ones(101, dtype=torch.float64))
    inner, j0 = spline_rows(torch.tensor([4.2, 4.9]), 10)
    assert j0 == 3 and inner.shape[1] == 4  # only the coefficients with weight


@pytest.mark.parametrize("size", [(37, 61), (48, 80), (61, 101)])  # non-integer and integer magnifications
def test_the_anchored_print_averaged_over_the_canvas_footprints_is_the_canvas(size):
    field, _ = _field()
    with torch.no_grad():
        canvas = (0.5 + 0.3 * torch.rand(1, 3, 12, 20))  # away from 0 and 1: no clamping
    before = print_average(field, size, (12, 20)).float()
    anchored = anchor_field(field, canvas, size, tile=16)  # tiles smaller than the print: sums across them
    after = print_average(anchored, size, (12, 20)).float()
    assert (before - canvas).abs().max() > 0.05
    assert (after - canvas).abs().max() < 1e-4
    # the detail is the field's: the anchored print is the field plus the smooth surface
    surface = anchored.surface(size, 0, 0, *size)
    assert torch.allclose(anchored.render(size), (field.render(size) + surface).clamp(0, 1), atol=1e-6)
    # a region is the same pixels as the whole render
    whole = anchored.render(size)
    assert torch.allclose(anchored.render_region(size, 5, 9, 11, 13), whole[..., 5:16, 9:22], atol=1e-6)


def test_a_checkpoint_with_a_surface_reloads_anchored_and_a_damaged_one_is_refused(tmp_path):
    field, config = _field()
    anchored = AnchoredField(field, torch.rand(3, 12, 20) * 0.1)
    for key in ("good", "bad"):
        (tmp_path / key).mkdir()
    for key, surface in (("good", anchored.coefficients), ("bad", torch.rand(3, 5, 5))):
        save_checkpoint(tmp_path / key / "checkpoint.pt", field, config, step=1, print_surface=surface)
    again = param_from_checkpoint(tmp_path / "good")
    assert isinstance(again, AnchoredField)
    assert torch.allclose(again.render((30, 50)), anchored.render((30, 50)), atol=1e-6)
    with pytest.raises(ParamartError, match="print_surface"):
        param_from_checkpoint(tmp_path / "bad")
