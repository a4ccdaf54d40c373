"""Untrusted run folders and checkpoints never run code, and resume never destroys its source.

Each hostile file below names code (``pathlib.Path.write_text``, ``torch.load`` of a
pickle) that would create a marker file if it ran; the marker must never appear.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from paramart.cli.guard import RunDirGuard
from paramart.cli.resume import check_stored_overrides
from paramart.errors import ParamartError
from paramart.params.base import build_param, check_param_config
from paramart.runner.checkpoint import load_checkpoint, param_from_checkpoint
from tests.conftest import paramart_cli

RENDER = str(Path(sys.executable).with_name("paramart-render"))
QUICK = ["size=32", "steps=2", "optim=adam", "progress=false", "timelapse.enabled=false"]


class _Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (str(self.marker),))


def _write_text(marker: Path) -> dict:
    return {"_target_": "pathlib.Path.write_text", "_args_": [str(marker), "pwned"]}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A real run made by the CLI: a checkpoint and a .hydra folder to tamper with."""
    base = tmp_path_factory.mktemp("trust")
    res = paramart_cli(*QUICK, f"hydra.run.dir={base / 'run'}", cwd=base)
    assert res.returncode == 0, res.stderr
    return base / "run"


def _crafted(run_dir: Path, tmp_path: Path, edit) -> Path:
    ckpt = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    edit(ckpt)
    out = tmp_path / "crafted"
    out.mkdir(exist_ok=True)
    torch.save(ckpt, out / "checkpoint.pt")
    return out


def _evil_pickle(marker: Path, tmp_path: Path) -> dict:
    pickled = tmp_path / "evil.pkl"
    torch.save({"x": _Payload(marker)}, pickled)
    return {"_target_": "torch.load", "f": str(pickled), "weights_only": False}


@pytest.mark.parametrize("how", ["nested write_text", "nested torch.load", "top-level target", "args"])
def test_a_crafted_checkpoint_runs_no_code_on_render(run_dir, tmp_path, how):
    marker = tmp_path / "marker"

    def edit(ckpt):
        config = ckpt["param_config"]
        if how == "nested write_text":
            config["noise_scale"] = _write_text(marker)
        elif how == "nested torch.load":
            config["init"] = _evil_pickle(marker, tmp_path)
        elif how == "top-level target":
            config.clear()
            config.update(_write_text(marker))
        else:
            config["_args_"] = [_write_text(marker)]

    crafted = _crafted(run_dir, tmp_path, edit)
    if how == "nested write_text":  # the command users run; the others through the same function
        res = paramart_cli(f"run={crafted}", f"out={tmp_path / 'x.png'}", "progress=false", cwd=tmp_path,
                           exe=RENDER)
        assert res.returncode == 2, res.stderr
        assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
        assert res.stderr.startswith("paramart-render: error: checkpoint ")
        assert not marker.exists() and not (tmp_path / "x.png").exists()
    with pytest.raises(ParamartError):
        param_from_checkpoint(crafted / "checkpoint.pt")
    assert not marker.exists()


def test_only_registered_parameterizations_with_plain_values_are_built(tmp_path):
    marker = tmp_path / "marker"
    good = {"_target_": "paramart.params.pixel.Pixel", "init": "noise", "noise_scale": 0.2, "grain": 1,
            "grain_upsample": "nearest"}
    assert build_param(good, (8, 8), None).render().shape == (1, 3, 8, 8)
    for bad, message in [
        ({**good, "_target_": "os.system"}, "not a registered parameterization"),
        ({**good, "grain": _write_text(marker)}, "grain must be a plain value .* with _target_"),
        ({**good, "grain": "${oc.env:HOME}"}, "an interpolation"),
        ({**good, "shell": "rm -rf"}, "unknown setting 'shell'"),
        ({**good, "_recursive_": True}, "unknown setting '_recursive_'"),
        ({**good, "grain": "many"}, "grain"),
        ({k: v for k, v in good.items() if k != "grain"}, "grain"),
    ]:
        with pytest.raises(ParamartError, match=message):
            check_param_config(bad)
    assert not marker.exists()


def _hydra():
    """Hydra's config search path, as the CLI has it (config groups are known)."""
    from hydra import initialize_config_module

    from paramart.api import register_configs

    register_configs()
    return initialize_config_module(config_module="paramart.conf", version_base="1.3")


def _append(run_dir: Path, dest: Path, *lines: str) -> Path:
    """A copy of ``run_dir`` whose overrides.yaml has ``lines`` added."""
    import shutil

    shutil.copytree(run_dir, dest)
    stored = OmegaConf.load(dest / ".hydra" / "overrides.yaml")
    (dest / ".hydra" / "overrides.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create([*stored, *lines])))
    return dest


def test_a_crafted_overrides_yaml_runs_no_code_on_resume(run_dir, tmp_path):
    marker = tmp_path / "marker"
    line = f"+optim.x={{_target_:pathlib.Path.write_text,_args_:[{marker},pwned]}}"
    evil = _append(run_dir, tmp_path / "evil", line)
    res = paramart_cli(f"resume={evil}", "steps=3", f"hydra.run.dir={tmp_path / 'next'}", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("paramart: error: resume: ")
    assert "adds or deletes a config key, so nothing was run" in res.stderr
    assert not marker.exists()


@pytest.mark.parametrize("line, why", [
    ("+optim.x={_target_:pathlib.Path.write_text,_args_:[m,x]}", "adds or deletes"),
    ("optim._target_=pathlib.Path.write_text", "Hydra's or instantiate's own keys"),
    ("param._target_=os.system", "Hydra's or instantiate's own keys"),
    ("optim._partial_=false", "Hydra's or instantiate's own keys"),
    ("style={_target_:torch.load,f:x,weights_only:false}", "not a plain value"),
    ("style=${oc.env:HOME}", "not a plain value"),
    ("content='${now:%H}'", "not a plain value"),
    ("hydra.callbacks.x._target_=os.system", "Hydra's or instantiate's own keys"),
    ("hydra/launcher=slurm", "Hydra's or instantiate's own keys"),
    ("~size", "adds or deletes"),
    ("++size=3", "adds or deletes"),
    ("seed=1,2", "is a sweep"),
    ("optim=nope", "names no optim config"),
    ("size=[", "cannot be parsed"),
    ("term@hydra.callbacks=w2", "places a config somewhere other than a term"),
    ("optim@objective.style=adam", "places a config somewhere other than a term"),
])
def test_stored_overrides_are_plain_settings_only(line, why):
    with _hydra(), pytest.raises(ParamartError, match=why):
        check_stored_overrides([line], Path("overrides.yaml"))


def test_ordinary_stored_overrides_pass():
    lines = ["size=48", "style=[sample:coffee,sample:retina]", "optim=adam", "optim.lr=0.1", "content=null",
             "objective.style.layers=[conv1_1,conv2_1]", "param.init=noise", "experiment=quick",
             "term@objective.style=w2"]
    with _hydra():
        assert check_stored_overrides(lines, Path("overrides.yaml")) == lines


def test_resume_into_its_own_folder_is_refused_before_anything_is_written(run_dir, tmp_path):
    import shutil

    source = tmp_path / "source"
    shutil.copytree(run_dir, source)
    before = {p.name: p.read_bytes() for p in (source / ".hydra").iterdir()}
    res = paramart_cli(f"resume={source}", "steps=4", f"hydra.run.dir={source}", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        f"paramart: error: resume={source} would write into the run it resumes and overwrite its settings; "
        "leave out hydra.run.dir= or give another folder"]
    assert {p.name: p.read_bytes() for p in (source / ".hydra").iterdir()} == before
    assert load_checkpoint(source)["step"] == 2
    # the checkpoint file itself names the same folder; a relative path too
    for spec, run in ((source / "checkpoint.pt", source), (Path("source"), source)):
        config = OmegaConf.create({"resume": str(spec), "hydra": {"run": {"dir": str(run)}}})
        with pytest.raises(SystemExit) as info, _cwd(tmp_path):
            RunDirGuard().on_run_start(config)
        assert info.value.code == 2
    RunDirGuard().on_run_start(OmegaConf.create({"resume": str(source), "hydra": {"run": {"dir": str(tmp_path)}}}))


@contextlib.contextmanager
def _cwd(path: Path):
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


# -- checkpoints are checked before use ---------------------------------------------------------


@pytest.mark.parametrize("edit, message", [
    (lambda c: c.update(step=-1), "is damaged: its step is -1, below 0"),
    (lambda c: c["state"].pop("logits"), "does not fit Pixel: missing logits"),
    (lambda c: c["state"].update(extra=torch.zeros(1)), "does not fit Pixel: unexpected extra"),
    (lambda c: c["state"].update(logits=torch.zeros(1, 3, 5, 5)),
     r"state 'logits' is \(1, 3, 5, 5\) torch.float32, expected \(1, 3, 21, 32\) torch.float32"),
    (lambda c: c["state"].update(logits=c["state"]["logits"].double()), "torch.float64, expected"),
    (lambda c: c["state"]["logits"].view(-1).__setitem__(0, float("nan")), "holds NaN or infinite values"),
    (lambda c: c.update(size=[100000, 100000]), "canvas size .* is not two whole numbers of pixels"),
    (lambda c: c["param_config"].update(grain=0), r"param\.grain=0 must be a whole number"),
    (lambda c: c.update(config=["x"]), "its 'config' entry is not a mapping"),
    (lambda c: c.update(seconds="soon"), "its 'seconds' entry is not a number"),
    (lambda c: c.update(seconds=float("nan")), "its 'seconds' entry is not a number"),
    (lambda c: c.update(optimizer=[1]), "its 'optimizer' entry is not an optimiser state"),
])
def test_checkpoints_are_checked_before_use(run_dir, tmp_path, edit, message):
    crafted = _crafted(run_dir, tmp_path, edit)
    with pytest.raises(ParamartError, match=message) as info:
        load_checkpoint(crafted)
    assert "\n" not in str(info.value)


def test_a_bad_checkpoint_is_refused_before_the_model_loads(run_dir, tmp_path, monkeypatch):
    import paramart
    import paramart.api

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(paramart.api, "load_model", no_model)
    crafted = _crafted(run_dir, tmp_path, lambda c: c["rng"].update(torch=torch.zeros(3, dtype=torch.uint8)))
    cfg = paramart.compose([*QUICK, "steps=3", f"resume={crafted}"])
    with pytest.raises(ParamartError, match="its random-generator state is not one paramart wrote"):
        paramart.run(cfg)
    crafted = _crafted(run_dir, tmp_path, lambda c: c["state"]["logits"].fill_(float("inf")))
    with pytest.raises(ParamartError, match="holds NaN or infinite values; resume from an earlier checkpoint"):
        paramart.run(paramart.compose([*QUICK, "steps=3", f"resume={crafted}"]))


def test_a_damaged_optimiser_state_is_one_line(run_dir, tmp_path):
    import paramart

    def edit(ckpt):
        ckpt["optimizer"]["state"][0]["exp_avg"] = torch.zeros(7, 7)

    crafted = _crafted(run_dir, tmp_path, edit)
    with pytest.raises(ParamartError, match=r"optimiser state holds a tensor of shape \(7, 7\), which fits no"):
        paramart.run(paramart.compose([*QUICK, "steps=3", f"resume={crafted}"]))


def test_damaged_files_get_paramart_s_words(run_dir, tmp_path):
    data = (run_dir / "checkpoint.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.pt").write_text("hello, this is not a checkpoint\n")
    for name in ("cut.pt", "text.pt"):
        with pytest.raises(ParamartError, match=r"it is damaged, cut off or not a PyTorch file; copy it again") as info:
            load_checkpoint(tmp_path / name)
        assert "Errno" not in str(info.value) and ": 101" not in str(info.value)
    res = paramart_cli("width=100000", "height=100000", f"run={run_dir}", cwd=tmp_path, exe=RENDER)
    assert res.returncode == 2
    assert res.stderr.strip() == ("paramart-render: error: width=100000 height=100000 is 10000 megapixels, over "
                                  "max_pixels=268435456 (27.9 GiB as 8-bit RGB); ask for a smaller render, or "
                                  "raise max_pixels= if you have the memory")


def test_an_unwritable_output_folder_is_one_line(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    res = paramart_cli(*QUICK, f"hydra.run.dir={tmp_path / 'file' / 'run'}", cwd=tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines() == [
        f"paramart: error: cannot create hydra.run.dir={tmp_path / 'file' / 'run'}: Not a directory; "
        "give a folder you can write to"]
