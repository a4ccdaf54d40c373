"""Every config of every group composes and passes the checks a run makes before the model
loads (as lightning-hydra-template's tests compose each experiment). Groups and options are
discovered from conf/, so a new YAML file is tested here without an edit."""

from __future__ import annotations

import pytest

import paramart
from paramart.runner.plan import make_plan
from paramart.runner.validate import validate
from tests.conftest import REPO

CONF = REPO / "conf"
#: Hydra's own groups (conf/hydra/) are composed by test_sweep / test_cli through the command line
GROUPS = sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name not in ("hydra", "term", "__pycache__"))
OPTIONS = [(g, p.stem) for g in GROUPS for p in sorted((CONF / g).glob("*.yaml"))]
TERMS = sorted(p.stem for p in (CONF / "term").glob("*.yaml"))


def test_the_groups_are_the_ones_the_readme_lists():
    assert {"param", "model", "optim", "objective", "experiment", "schedule"} <= set(GROUPS)


@pytest.mark.parametrize("group,name", OPTIONS, ids=[f"{g}={n}" for g, n in OPTIONS])
def test_every_config_composes_and_validates(group, name):
    cfg = paramart.compose([f"{group}={name}"])
    validate(cfg)  # every value a run would use, checked; no model is loaded


@pytest.mark.parametrize("name", sorted(p.stem for p in (CONF / "experiment").glob("*.yaml")))
def test_every_experiment_plans_at_a_small_size(name):
    """The whole plan (images opened, schedule, checks), shrunk so it stays cheap."""
    # print's first scale (1/8) with the style at half the canvas sees a 600x400 style at 16 px
    # below 373 px (short side 11 px): the plan refuses that, as the run's first stage would
    size = 384 if name == "print" else 64
    extra = ["print.crop=32"] if name == "field_print" else []  # a crop is at most the canvas
    plan = make_plan(paramart.compose([f"experiment={name}", f"size={size}", "steps=4", *extra]))
    assert max(plan.canvas) == size and sum(steps for _, steps in plan.schedule) == 4
    if name == "field_print":  # 4096 px print, the painting at the style file's own size
        assert max(plan.print_size) == 4096 and plan.print_style == max(plan.styles[0].size)


@pytest.mark.parametrize("name", TERMS)
def test_every_term_composes_in_any_place(name):
    cfg = paramart.compose([f"+term@objective.extra={name}"])
    validate(cfg)
    assert cfg.objective.extra._target_.startswith("paramart.objectives.terms.")


def test_a_node_in_the_objective_that_is_no_term_is_refused():
    cfg = paramart.compose(["+objective.extra.weight=1"])
    with pytest.raises(paramart.ParamartError, match="objective.extra.* is no loss term"):
        validate(cfg)


def test_schedule_group_and_its_keys():
    assert paramart.compose(["schedule=multiscale"]).schedule.scales == [0.25, 0.5, 1]
    assert paramart.compose(["experiment=multiscale"]).schedule.scales == [0.25, 0.5, 1]
    assert paramart.compose(["schedule.scales=[0.5,1]"]).schedule.scales == [0.5, 1]
    assert paramart.compose([]).schedule.scales is None


def test_zoom_training_with_style_masks_is_refused_before_the_model_loads():
    cfg = paramart.compose(["param=hashgrid", "zoom.levels=[1,2]", "style=[sample:coffee,sample:gravel]",
                            "style_masks=[left,right]"])
    with pytest.raises(paramart.ParamartError, match="zoom.levels does not combine with style_masks"):
        validate(cfg)
