"""A full disk is one line and exit 2, keeps the last good checkpoint and leaves no temporary
files: tested on a real, small tmpfs mounted here (CI runs as root; elsewhere these skip)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
import torch
from PIL import Image

import paramart
from paramart.errors import WriteError
from paramart.io.claim import MARKER
from paramart.io.images import save_image
from paramart.outputs.timelapse import Timelapse
from paramart.params.pixel import Pixel
from paramart.runner.checkpoint import load_checkpoint, save_checkpoint
from tests.conftest import paramart_cli, tmpfs

PIXEL = {"_target_": "paramart.params.pixel.Pixel", "init": "noise", "noise_scale": 0.2, "grain": 1,
         "grain_upsample": "nearest"}


def _fill(disk: Path, leave: int = 0) -> None:
    """Use up every free byte of ``disk``, then give back ``leave`` bytes."""
    with open(disk / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        f.truncate(f.tell() - leave)


def _temporary(folder: Path) -> list[str]:
    """Hidden files left behind, but Hydra's settings and the run's claim (paramart/io/claim.py)."""
    return sorted(p.name for p in folder.rglob(".*") if p.name not in (".hydra", MARKER))


def test_every_write_path_on_a_full_disk(tmp_path):
    """checkpoint (torch.save raises RuntimeError), PNG, frame, GIF, run.json: each a WriteError
    naming the full disk, the old file intact, no temporary file left."""
    with tmpfs(tmp_path / "disk", "1m") as disk:
        param = Pixel((16, 16), init="noise")
        save_checkpoint(disk / "checkpoint.pt", param, PIXEL, step=1)
        save_image(torch.rand(1, 3, 16, 16), disk / "final.png")
        lapse = Timelapse(disk, (16, 16), every=1, fps=12, hold_seconds=1, max_size=16, mp4=False)
        lapse.capture(0, torch.rand(1, 3, 16, 16))
        old = {p.name: p.read_bytes() for p in disk.iterdir() if p.is_file()}
        _fill(disk)
        writes = {
            "checkpoint.pt": lambda: save_checkpoint(disk / "checkpoint.pt", param, PIXEL, step=2),
            "final.png": lambda: save_image(torch.rand(1, 3, 16, 16), disk / "final.png"),
            "frames": lambda: lapse.capture(1, torch.rand(1, 3, 16, 16)),
            "timelapse.gif": lambda: lapse.write(keep_frames=True),
            "run.json": lambda: _write_text(disk / "run.json"),
        }
        for name, write in writes.items():
            with pytest.raises(WriteError, match=r"^cannot write .*: the disk is full \(") as info:
                write()
            assert "\n" not in str(info.value), name
        assert {p.name: p.read_bytes() for p in disk.iterdir() if p.is_file() and p.name != "filler"} == old
        assert load_checkpoint(disk)["step"] == 1
        assert _temporary(disk) == []
        assert [p.name for p in (disk / "frames").iterdir()] == ["000000.png"]


def _write_text(path: Path) -> None:
    from paramart.io.atomic import atomic_write

    atomic_write(path, lambda tmp: Path(tmp).write_text("{}" * 5000))


def test_a_run_that_fills_the_disk_is_one_line_and_keeps_its_last_checkpoint(tmp_path):
    """Through the CLI: frames, checkpoints and the log fill a 160 KiB disk part way through."""
    with tmpfs(tmp_path / "disk", "160k") as disk:
        run_dir = disk / "run"
        res = paramart_cli("size=32", "steps=400", "optim=adam", "progress=false", "log_every=1",
                           "checkpoint_every=1", "timelapse.every=1", "timelapse.keep_frames=true",
                           f"hydra.run.dir={run_dir}", cwd=tmp_path)
        lines = res.stderr.strip().splitlines()
        assert res.returncode == 2, res.stderr
        assert "Traceback" not in res.stderr
        assert lines[-1].startswith("paramart: error: cannot write ") and "the disk is full" in lines[-1]
        ckpt = load_checkpoint(run_dir)
        assert ckpt["step"] >= 1
        assert f"checkpoint of step {ckpt['step']} in {run_dir}" in lines[-1]
        with Image.open(run_dir / "final.png") as im:
            im.verify()
        assert _temporary(run_dir) == []
        # and it resumes elsewhere from that step
        again = tmp_path / "again"
        cfg = paramart.compose(["size=32", f"steps={ckpt['step'] + 1}", "optim=adam", "progress=false",
                                "timelapse.enabled=false", f"resume={run_dir}"])
        assert paramart.run(cfg, again).history.last.step == ckpt["step"] + 1


@pytest.mark.parametrize("free", [0, 4096], ids=["full", "one-page-free"])
def test_a_full_disk_at_start_up_is_one_line_and_leaves_nothing(tmp_path, free):
    """Before the run: full, the folder check finds it; one 4 KiB page free, config.yaml fits and
    Hydra's next .hydra/ file does not. Either way one line, exit 2, and no run folder left."""
    with tmpfs(tmp_path / "disk", "64k") as disk:
        _fill(disk, leave=free)
        run_dir = disk / "day" / "time"  # as outputs/DAY/TIME: both folders are made, and removed again
        res = paramart_cli("size=32", "steps=2", "progress=false", f"hydra.run.dir={run_dir}", cwd=tmp_path)
        assert res.returncode == 2, res.stderr
        assert "Traceback" not in res.stderr
        (line,) = res.stderr.strip().splitlines()
        where = f"into hydra.run.dir={run_dir}:" if free == 0 else f"{run_dir / '.hydra'}/"
        assert line.startswith(f"paramart: error: cannot write {where}"), line
        assert "the disk is full (No space left on device)" in line
        assert [p.name for p in disk.iterdir()] == ["filler"]


def test_a_sweep_on_a_nearly_full_disk_is_one_line(tmp_path):
    """Hydra's sweeper writes multirun.yaml itself: the room for it is checked first."""
    with tmpfs(tmp_path / "disk", "64k") as disk:
        _fill(disk, leave=4096)
        res = paramart_cli("-m", "size=32", "steps=2", "seed=0,1", "progress=false",
                           f"hydra.sweep.dir={disk / 'sweep'}", cwd=tmp_path)
        assert res.returncode == 2, res.stderr
        assert "Traceback" not in res.stderr
        assert res.stderr.strip().splitlines() == [
            f"paramart: error: cannot write into hydra.sweep.dir={disk / 'sweep'}: the disk is full (4 KiB free); "
            "free some space or give another folder"]
        assert [p.name for p in disk.iterdir()] == ["filler"]
