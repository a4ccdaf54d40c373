"""Long runs lose nothing: periodic and final checkpoints, Ctrl-C / SIGTERM, resume=."""

from __future__ import annotations

import csv
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import paramart
from paramart.errors import ParamartError
from paramart.runner.checkpoint import rng_state, set_rng_state
from paramart.runner.signals import Interrupted, stop_on_signals
from tests.conftest import paramart_cli

BASE = ["size=32", "progress=false", "log_every=1", "param.init=noise", "seed=7"]


def _run(tmp: Path, name: str, *overrides: str, **kwargs) -> paramart.Result:
    cfg = paramart.compose([*BASE, *overrides])
    return paramart.run(cfg, tmp / name, **kwargs)


def _rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "losses.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("optim, half", [("adam", 10), ("lbfgs", 5)])
def test_resume_equals_a_straight_run(tmp_path, optim, half):
    straight = _run(tmp_path, "straight", f"optim={optim}", f"steps={2 * half}")
    _run(tmp_path, "first", f"optim={optim}", f"steps={half}")
    resumed = _run(tmp_path, "second", f"optim={optim}", f"steps={2 * half}", f"resume={tmp_path / 'first'}")

    assert [r.step for r in resumed.history.rows] == list(range(half, 2 * half + 1))
    a, b = straight.param.logits.detach(), resumed.param.logits.detach()
    assert torch.allclose(a, b, atol=1e-6, rtol=0), (a - b).abs().max()
    # the log reads as one run: the first half copied, the second continuing it
    one, two = _rows(tmp_path / "straight"), _rows(tmp_path / "second")
    assert [r["step"] for r in two] == [str(s) for s in range(0, 2 * half + 1)]
    assert [r["total"] for r in two] == [r["total"] for r in one]
    assert float(two[half + 1]["seconds"]) >= float(two[half]["seconds"])
    ckpt = torch.load(tmp_path / "second" / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 2 * half and ckpt["reason"] == "done" and "optimizer" in ckpt


def test_periodic_checkpoints_and_resume_checks(tmp_path):
    seen = []
    import paramart.runner.state as rs

    real_save = rs.RunState.save

    def spy(self, reason, **kw):
        seen.append((self.step, reason))
        real_save(self, reason, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rs.RunState, "save", spy)
        _run(tmp_path, "p", "optim=adam", "steps=7", "checkpoint_every=3")
    assert seen == [(3, "periodic"), (6, "periodic"), (7, "done")]

    run_dir = tmp_path / "p"
    with pytest.raises(ParamartError, match=r"is already at step 7; steps= counts from the start of the first run"):
        _run(tmp_path, "q", "optim=adam", "steps=5", f"resume={run_dir}")
    with pytest.raises(ParamartError, match=r"its canvas is 21x32 px but this run's is 43x64"):
        _run(tmp_path, "q", "optim=adam", "steps=9", "size=64", f"resume={run_dir}")
    with pytest.raises(ParamartError, match=r"param\.init='noise' there but 'content' here"):
        _run(tmp_path, "q", "optim=adam", "steps=9", "param.init=content", f"resume={run_dir}")
    with pytest.raises(ParamartError, match=r"no checkpoint at .*nothing"):
        _run(tmp_path, "q", "optim=adam", "steps=9", f"resume={tmp_path / 'nothing'}")
    # another optimiser may take over; its state starts afresh
    switched = _run(tmp_path, "s", "optim=lbfgs", "steps=9", f"resume={run_dir}")
    assert [r.step for r in switched.history.rows] == [7, 8, 9]


def test_rng_state_round_trips():
    torch.manual_seed(1)
    np.random.seed(2)
    random.seed(3)
    state = rng_state()
    first = (torch.rand(3), np.random.rand(3), random.random())
    torch.manual_seed(99)
    np.random.seed(99)
    random.seed(99)
    set_rng_state(state)
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(first[0], again[0]) and np.array_equal(first[1], again[1]) and first[2] == again[2]


class _SignalAt(torch.nn.Module):
    """The real objective, sending this process a signal on call ``at`` (as a user would)."""

    def __init__(self, inner, at: int, sig: signal.Signals):
        super().__init__()
        self.inner, self.at, self.sig, self.calls = inner, at, sig, 0

    @property
    def names(self):
        return self.inner.names

    def forward(self, image):
        self.calls += 1
        if self.calls == self.at:
            signal.raise_signal(self.sig)
        return self.inner(image)


def test_a_signal_saves_the_finished_step_and_resumes_exactly(tmp_path, monkeypatch):
    import paramart.runner.stage

    real = paramart.runner.stage.build_objective
    monkeypatch.setattr(paramart.runner.stage, "build_objective",
                        lambda *a, **k: _SignalAt(real(*a, **k), 4, signal.SIGTERM))
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted) as info, stop_on_signals():
        _run(tmp_path, "stopped", "optim=adam", "steps=50")
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is put back
    stop = info.value
    assert (stop.signal_name, stop.step, stop.saved, stop.exit_code) == ("SIGTERM", 4, True, 143)
    assert "resume=" in stop.message()
    ckpt = torch.load(tmp_path / "stopped" / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 4 and ckpt["reason"] == "interrupted" and "optimizer" in ckpt
    monkeypatch.undo()

    resumed = _run(tmp_path, "resumed", "optim=adam", "steps=8", f"resume={tmp_path / 'stopped'}")
    straight = _run(tmp_path, "straight", "optim=adam", "steps=8")
    assert torch.allclose(resumed.param.logits, straight.param.logits, atol=1e-6, rtol=0)


def test_a_hard_interrupt_keeps_the_last_finished_step(tmp_path, monkeypatch):
    """A second Ctrl-C lands mid-step: the step before it is kept, without optimiser state."""
    import paramart.runner.stage

    class Boom(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner, self.calls = inner, 0

        @property
        def names(self):
            return self.inner.names

        def forward(self, image):
            self.calls += 1
            if self.calls == 3:
                raise KeyboardInterrupt
            return self.inner(image)

    real = paramart.runner.stage.build_objective
    monkeypatch.setattr(paramart.runner.stage, "build_objective", lambda *a, **k: Boom(real(*a, **k)))
    with pytest.raises(Interrupted) as info:
        _run(tmp_path, "hard", "optim=adam", "steps=50")
    assert info.value.step == 2 and info.value.saved
    ckpt = torch.load(tmp_path / "hard" / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 2 and "optimizer" not in ckpt


def _wait_for_rows(path: Path, rows: int, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and len(path.read_text().splitlines()) > rows:
            return
        if proc.poll() is not None:
            pytest.fail(f"paramart ended early: {proc.communicate()[1]}")
        time.sleep(0.2)
    proc.kill()
    pytest.fail("no progress in losses.csv")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGUSR2], ids=["SIGINT", "SIGTERM", "SIGUSR2"])
def test_signal_to_a_running_cli_saves_and_resume_continues(tmp_path, sig):
    run_dir = tmp_path / "long"
    exe = str(Path(sys.executable).with_name("paramart"))
    proc = subprocess.Popen([exe, "size=48", "steps=100000", "log_every=1", "progress=false", "optim=adam",
                             f"hydra.run.dir={run_dir}"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _wait_for_rows(run_dir / "losses.csv", 2, proc)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 128 + sig
    assert "Traceback" not in stderr
    ckpt = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    step = ckpt["step"]
    assert f"paramart: {sig.name} at step {step}: saved final.png and checkpoint.pt in {run_dir}; " \
           f"continue with: paramart resume={run_dir}" in stderr
    assert ckpt["reason"] == "interrupted" and "optimizer" in ckpt and "rng" in ckpt
    assert int(_rows(run_dir)[-1]["step"]) == step  # the log and the checkpoint agree
    with Image.open(run_dir / "final.png") as im:
        im.verify()
    with Image.open(run_dir / "final.png") as im:
        assert im.size == (48, 32)
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".") and p.name not in (".hydra", ".paramart-run")]

    if sig != signal.SIGINT:
        return
    # resume= needs no repeat of the first run's options: they come from its .hydra folder
    again = tmp_path / "again"
    res = paramart_cli(f"resume={run_dir}", f"steps={step + 2}", f"hydra.run.dir={again}", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    rows = _rows(again)
    assert [int(r["step"]) for r in rows] == list(range(0, step + 3))
    assert rows[:step + 1] == _rows(run_dir)
    assert torch.load(again / "checkpoint.pt", weights_only=True)["step"] == step + 2
    overrides = (again / ".hydra" / "overrides.yaml").read_text()
    assert "size=48" in overrides and f"steps={step + 2}" in overrides and "steps=100000" not in overrides
