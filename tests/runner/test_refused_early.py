"""Refused before any model loads, in one line; no traceback or hang; run folders from
others steer no resume (issue #21, kinds 4-8). Each example of the issue, through the path
users run: ``paramart.api.run`` (with the model's loading made a test failure), the
``paramart`` / ``paramart-render`` commands, the preview server, the gallery."""

from __future__ import annotations

import json
import re
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import paramart
import paramart.api
from paramart.errors import ParamartError
from paramart.outputs.gallery import build_gallery
from tests.conftest import paramart_cli

QUICK = ["timelapse.enabled=false", "progress=false"]


@pytest.fixture
def no_model(monkeypatch):
    """Loading VGG-19 fails the test: the refusal must come before it."""
    def load_model(plan):
        pytest.fail("the model was loaded before the refusal")
    monkeypatch.setattr(paramart.api, "load_model", load_model)


@pytest.fixture
def wide_style(tmp_path) -> Path:
    path = tmp_path / "wide.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (100, 400, 3), dtype=np.uint8)).save(path)
    return path


EXAMPLES = [  # (overrides, the start of the one-line message)
    (["param=cppn", "zoom.levels=[1,2]", "model.tile=16"], "zoom.levels does not combine with a tiled canvas"),
    (["experiment=masked_styles", "term@objective.style=w2"],
     "objective.style: the w2 term does not take style_masks"),
    (["model.memory_budget=nan"], "model.memory_budget"),
    (["model.memory_budget=true"], "model.memory_budget must be auto or a number of GiB"),
    (["model.memory_budget=1e-9"], "model.memory_budget=1e-09 must be from 0.016"),
    (["term@objective.style=w2", "objective.style.eps=-1"], "objective.style.eps=-1.0 must be a small positive"),
    (["param=cppn", "param.fourier_features=100000000"], "param.fourier_features=100000000 must be at most"),
    (["param=hashgrid", "param.finest=20000000000000000000"], "param.finest=20000000000000000000 must be at most"),
    (["param=hashgrid", "zoom.levels=[1,1e300]"], "zoom.levels=[1.0, 1e+300] must all be from 1 to"),
    (["param=cppn", "param.prefit.lr=1e30"], "param.prefit.lr=1e+30 must be above 0 and at most 10"),
]


@pytest.mark.parametrize("overrides, message", EXAMPLES, ids=[" ".join(o) for o, _ in EXAMPLES])
def test_refused_before_the_model_loads(no_model, tmp_path, overrides, message):
    cfg = paramart.compose([*overrides, "size=32", "steps=1", *QUICK])
    with pytest.raises(ParamartError) as info:
        paramart.api.run(cfg, tmp_path / "run")
    assert str(info.value).startswith(message) and "\n" not in str(info.value)
    assert not (tmp_path / "run").exists()  # nothing claimed or written


def test_multiscale_advice_works_when_followed(no_model, tmp_path, wide_style):
    cfg = paramart.compose(["experiment=multiscale", f"style={wide_style}", "size=64", "steps=3", *QUICK])
    with pytest.raises(ParamartError, match=r"raise size= to (\d+) or more") as info:
        paramart.api.run(cfg, tmp_path / "run")
    needed = int(re.search(r"raise size= to (\d+)", str(info.value)).group(1))
    paramart.api.check(paramart.compose(["experiment=multiscale", f"style={wide_style}", f"size={needed}"]))
    with pytest.raises(ParamartError):
        paramart.api.check(paramart.compose(["experiment=multiscale", f"style={wide_style}", f"size={needed - 1}"]))


def test_busy_preview_ports_are_refused_before_the_model_loads(no_model, tmp_path):
    taken = []
    first = 20000 + (hash(str(tmp_path)) % 20000)
    try:
        for port in range(first, first + 20):
            s = socket.socket()
            s.bind(("127.0.0.1", port))
            s.listen()
            taken.append(s)
        cfg = paramart.compose(["preview.enabled=true", f"preview.port={first}", "size=32", "steps=1", *QUICK])
        with pytest.raises(ParamartError, match=rf"preview.port={first}: ports {first}-{first + 19} are all in use"):
            paramart.api.run(cfg, tmp_path / "run")
    except OSError:
        pytest.skip("those ports are not free here")
    finally:
        for s in taken:
            s.close()


def test_preview_true_is_what_people_type(tmp_path):
    from paramart.io.claim import MARKER

    res = paramart_cli("preview=true", "size=8", *QUICK, f"hydra.run.dir={tmp_path / 'r'}", cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.strip().splitlines() == [
        "paramart: error: size=8 must be a whole number from 16 to 32768"]
    assert not (tmp_path / "r" / MARKER).exists()  # a run refused by the plan gives its folder back


def test_prefit_stops_on_the_first_ctrl_c_and_saves(tmp_path, monkeypatch):
    import threading
    import time

    import paramart.runner.session as session
    from paramart.runner.signals import Interrupted, request_stop, stop_on_signals

    real = session.prefit_to_content

    def prefit_then_ctrl_c(*args, **kwargs):  # Ctrl-C half a second into a million-step pre-fit
        threading.Timer(0.5, request_stop).start()
        return real(*args, **kwargs)

    monkeypatch.setattr(session, "prefit_to_content", prefit_then_ctrl_c)
    cfg = paramart.compose(["param=hashgrid", "param.prefit.steps=1000000", "size=32", "steps=5", *QUICK])
    t0 = time.monotonic()
    with pytest.raises(Interrupted) as info, stop_on_signals():
        paramart.api.run(cfg, tmp_path / "run")
    assert time.monotonic() - t0 < 60
    assert info.value.saved and info.value.step == 0
    ckpt = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 0 and ckpt["reason"] == "interrupted"
    with Image.open(tmp_path / "run" / "final.png") as im:
        assert im.size == (32, 21)


def test_python_api_takes_paths_and_pixels(no_model, tmp_path):
    small = tmp_path / "small.png"
    Image.new("RGB", (60, 40), (20, 100, 50)).save(small)
    plan = paramart.api.check(paramart.compose(["size=32"]), content=small, style=[small])
    assert plan.content_name == str(small) and plan.style_names == (str(small),)
    plan = paramart.api.check(paramart.compose(["size=32"]), content=np.full((40, 60, 3), 100, np.uint8),
                              style=torch.rand(1, 3, 40, 40))
    assert plan.content.size == (60, 40) and plan.content_name == "(pixels passed from Python)"
    with pytest.raises(ParamartError, match=r"^content: an array of shape \(1000,\) is not an image"):
        paramart.api.check(paramart.compose(["size=32"]), content=np.zeros(1000))
    with pytest.raises(ParamartError, match=r"^style: give an image or a list of images, not a int"):
        paramart.stylize(style=7, size=32, steps=1)


# -- paramart-render, the preview server, the gallery ------------------------------------


@pytest.fixture(scope="module")
def cppn_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cppn") / "run"
    paramart.stylize(param="cppn", size=32, steps=1, progress=False, out_dir=out,
                     overrides=["param.prefit.steps=0", "timelapse.enabled=false"])
    return out


def test_render_refuses_bad_zoom_values_first(cppn_run, tmp_path):
    """Through the command once (zoom.fps=0 used to fail after every frame was rendered); every
    render key with hostile values: tests/test_every_key.py."""
    exe = str(Path(sys.executable).with_name("paramart-render"))
    res = paramart_cli(f"run={cppn_run}", "width=32", "zoom.to=4", "zoom.fps=0", f"out={tmp_path / 'z.gif'}",
                       "progress=false", cwd=tmp_path, exe=exe, timeout=60)
    assert res.returncode == 2 and res.stderr.strip().splitlines() == [
        "paramart-render: error: zoom.fps=0.0 must be a number above 0 and at most 100"]
    assert not (tmp_path / "z.gif").exists()


def test_preview_server_answers_odd_counts(tmp_path):
    from tests.outputs.test_preview_server import _get, _server

    srv, _ = _server(tmp_path)
    try:
        for query in ("since=%C2%B2", "since=" + "9" * 5000, "have=%C2%B2&since=1", "since=-3"):
            code, body = _get(srv, f"/state.json?{query}")
            assert code == 200 and json.loads(body)["status"] == "running", query
        assert _get(srv, "/input/%C2%B2.jpg")[0] == 404
        assert _get(srv, "/input/" + "9" * 5000 + ".jpg")[0] == 404
    finally:
        srv.close()


def test_gallery_skips_deeply_nested_run_files(cppn_run, tmp_path):
    import shutil

    runs = tmp_path / "runs"
    for name, file, text in (("json", "run.json", "[" * 200_000 + "]" * 200_000),
                             ("yaml", ".hydra/overrides.yaml", "[" * 200_000 + "]" * 200_000)):
        shutil.copytree(cppn_run, runs / name)
        (runs / name / file).parent.mkdir(exist_ok=True)
        (runs / name / file).write_text(text)
    shutil.copytree(cppn_run, runs / "good")
    warnings = []
    index = build_gallery([str(runs)], str(tmp_path / "site"), title="t", intro="", warn=warnings.append)
    assert Path(index).is_file()
    skipped = [w for w in warnings if w.startswith("skipped")]
    assert len(skipped) == 2 and all("nested" in w for w in skipped), warnings


# -- resume= from a folder someone else made -------------------------------------------


def _tampered(run_dir: Path, lines: list[str]) -> None:
    path = run_dir / ".hydra" / "overrides.yaml"
    path.write_text(path.read_text() + "".join(f"- {line}\n" for line in lines))


def test_resume_ignores_stored_preview_and_refuses_stored_files(tmp_path):
    first = tmp_path / "first"
    res = paramart_cli("size=32", "steps=1", "optim=adam", *QUICK, f"hydra.run.dir={first}", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    _tampered(first, ["preview.enabled=true", "preview.host=0.0.0.0", "preview.allow_remote=true"])
    with open(first / "losses.csv", "a") as f:  # a log far longer than its run: read no further than step 1
        f.write("".join(f"{s},1,1,1,0\n" for s in range(2, 200_000)))
    again = tmp_path / "again"
    res = paramart_cli(f"resume={first}", "steps=2", f"hydra.run.dir={again}", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "preview:" not in res.stderr and "watch at" not in res.stderr
    assert [r.split(",")[0] for r in (again / "losses.csv").read_text().splitlines()[1:]] == ["0", "1", "2"]
    overrides = (again / ".hydra" / "overrides.yaml").read_text()
    assert "preview" not in overrides

    _tampered(first, [f"content={tmp_path / 'secret.jpg'}"])
    res = paramart_cli(f"resume={first}", "steps=2", f"hydra.run.dir={tmp_path / 'third'}", cwd=tmp_path)
    assert res.returncode == 2 and "a run folder cannot choose which files are read" in res.stderr


def test_resume_refuses_an_alias_bomb_at_once(tmp_path):
    run_dir = tmp_path / "bomb"
    (run_dir / ".hydra").mkdir(parents=True)
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
        for i in range(9))
    (run_dir / ".hydra" / "overrides.yaml").write_text(bomb)
    (run_dir / "checkpoint.pt").write_bytes(b"")
    res = paramart_cli(f"resume={run_dir}", *QUICK, f"hydra.run.dir={tmp_path / 'out'}", cwd=tmp_path, timeout=60)
    assert res.returncode == 2 and "uses YAML anchors or aliases" in res.stderr

