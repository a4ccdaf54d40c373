"""An output folder that cannot be written is one line and exit 2 before anything runs, in
the errno's own words: tested on a real read-only tmpfs (CI runs as root, which permission
bits do not stop; elsewhere these skip)."""

from __future__ import annotations

import pytest

from tests.conftest import paramart_cli, tmpfs

QUICK = ["size=32", "steps=2", "optim=adam", "progress=false", "timelapse.enabled=false"]
FIX = "give a folder you can write to"


def _one_line(res) -> str:
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    (line,) = res.stderr.strip().splitlines()
    return line


@pytest.mark.parametrize("sub", ["run", ""], ids=["new-folder", "the-disk-itself"])
def test_a_read_only_run_folder_is_one_line(tmp_path, sub):
    with tmpfs(tmp_path / "ro", "1m", readonly=True) as disk:
        folder = disk / sub if sub else disk
        line = _one_line(paramart_cli(*QUICK, f"hydra.run.dir={folder}", cwd=tmp_path))
        verb = "create" if sub else "write into"
        assert line == f"paramart: error: cannot {verb} hydra.run.dir={folder}: Read-only file system; {FIX}"
        assert list(disk.iterdir()) == []


def test_a_read_only_sweep_folder_is_one_line(tmp_path):
    with tmpfs(tmp_path / "ro", "1m", readonly=True) as disk:
        res = paramart_cli("-m", *QUICK, "seed=0,1", f"hydra.sweep.dir={disk / 'sweep'}", cwd=tmp_path)
        line = _one_line(res)
        assert line == f"paramart: error: cannot create hydra.sweep.dir={disk / 'sweep'}: Read-only file system; {FIX}"
