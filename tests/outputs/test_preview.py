"""The live preview of a real run: watched in headless Chromium, stopped from the page
(exactly as Ctrl-C: exit 130, a checkpoint that resumes); refused on other hosts without
the key; one port per sweep job, named in its log; the notebook cell."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

import paramart
from paramart.outputs.watch import Watch
from paramart.runner.plan import make_plan
from tests.conftest import paramart_cli
from tests.outputs.test_gallery import ARTIFACTS, _browser

URL = re.compile(r"preview: (?:port \d+ is in use; )?watch at (http://127\.0\.0\.1:(\d+)/)")


def _start_run(run_dir: Path, cwd: Path, *args: str) -> tuple[subprocess.Popen, str, list[str]]:
    """A real ``paramart`` run with the preview on; returns it once it has logged its URL.

    Its output (Hydra logs to stdout, paramart's messages go to stderr) is read into the
    returned list by a thread until the process exits."""
    exe = str(Path(sys.executable).with_name("paramart"))
    proc = subprocess.Popen([exe, "preview.enabled=true", "preview.port=0", "progress=false",
                             f"hydra.run.dir={run_dir}", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True).start()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        for line in list(lines):
            if m := URL.search(line):
                return proc, m.group(1), lines
        time.sleep(0.2)
    proc.kill()
    pytest.fail("no preview URL:\n" + "".join(lines))


_LOOK = """
    const img = document.getElementById('canvas');
    if (!img.complete || !img.naturalWidth) return null;
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    c.getContext('2d').drawImage(img, 0, 0);
    return [document.getElementById('caption').textContent, c.toDataURL()];"""


def _wait(browser, script: str, timeout: float = 120, ok=bool):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = browser.execute_script(script)
        if ok(value):
            return value
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for: {script[:80]}")


def test_watch_a_multiscale_run_then_stop_and_save_from_the_page(tmp_path):
    run_dir = tmp_path / "run"
    # two scales: 24 px for 10 steps, then 48 px; more steps than the test will wait for
    proc, url, lines = _start_run(run_dir, tmp_path, "size=48", "steps=3000", "preview.refresh=0.3",
                                  "schedule.scales=[0.5,1]", "schedule.shares=[1,299]", "log_every=2")
    browser = None
    try:
        browser = _browser()
        browser.get(url)
        first = _wait(browser, _LOOK)
        _wait(browser, "return document.getElementById('stage').textContent.startsWith('scale 2 of 2')")
        second = _wait(browser, _LOOK, ok=lambda look: look is not None and look[0] != first[0])
        assert second[1] != first[1]  # the canvas itself changed, not only its caption
        page = browser.execute_script("""return {
            step: +document.getElementById('step').textContent, status: document.getElementById('status').textContent,
            stage: document.getElementById('stage').textContent,
            terms: Array.from(document.querySelectorAll('#terms td:first-child')).map(t => t.textContent),
            lines: document.querySelectorAll('#plot polyline').length,
            settings: document.querySelector('.settings').textContent,
            inputs: Array.from(document.querySelectorAll('.inputs img')).map(i => i.naturalWidth)}""")
        assert page["status"] == "running" and page["step"] >= 10
        assert page["stage"].startswith("scale 2 of 2: 48×")  # followed the run to its second scale
        assert {"total", "content", "style"} <= set(page["terms"]) and page["lines"] >= 3
        assert "steps3000" in page["settings"].replace(" ", "") and "schedule.scales0.5, 1" in page["settings"]
        assert len(page["inputs"]) == 2 and min(page["inputs"]) > 0
        errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert errors == []
        browser.find_element("id", "stop").click()
        proc.wait(timeout=180)
        time.sleep(0.5)  # the reader thread takes the last lines
        err = "".join(lines)
        assert proc.returncode == 130, err
        assert "Stop and save pressed on the preview page" in err
        assert f"continue with: paramart resume={run_dir}" in err
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "preview_after_stop.png"))
    finally:
        if browser is not None:
            browser.quit()
        if proc.poll() is None:
            proc.kill()
    port = int(url.rsplit(":", 1)[1].strip("/"))
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()  # the server went with the run
    step = torch.load(run_dir / "checkpoint.pt", weights_only=True)["step"]
    assert 10 < step < 3000 and (run_dir / "final.png").is_file()
    _resume_and_watch_it_finish(run_dir, tmp_path, step)


def _resume_and_watch_it_finish(run_dir: Path, tmp_path: Path, step: int) -> None:
    """The stopped run continues (5 s of steps) and ends normally: the page says done."""
    browser = _browser()  # first: the run must not end before the page has loaded
    proc = None
    try:
        proc, url, lines = _start_run(tmp_path / "resumed", tmp_path, f"resume={run_dir}", "steps=100000",
                                      "max_seconds=5", "schedule.scales=null", "schedule.shares=null")
        browser.get(url)
        # the status turns final first; the closing message follows once the last frame is shown
        _wait(browser, "return ['done', 'stopped', 'failed', 'ended'].includes("
                       "document.getElementById('status').textContent) && "
                       "document.getElementById('message').textContent.includes('preview server has stopped')")
        page = browser.execute_script("return ['status', 'message', 'step', 'caption'].map("
                                      "id => document.getElementById(id).textContent)")
        assert page[0] == "done" and page[1].startswith("Done. "), page
        assert page[3] == f"canvas at step {page[2]}"  # the final canvas, fetched before the server stopped
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "preview_done.png"))
        proc.wait(timeout=60)
    finally:
        browser.quit()
        if proc is not None and proc.poll() is None:
            proc.kill()
    time.sleep(0.5)  # the reader thread takes the last lines
    assert proc.returncode == 0, "".join(lines)
    after = re.search(r"after (\d+) steps", "".join(lines))
    assert after and int(after.group(1)) > step  # it continued from the checkpoint


def test_other_hosts_are_refused_without_the_key(tmp_path):
    res = paramart_cli("preview.enabled=true", "preview.host=0.0.0.0", "size=32", "steps=2",
                       f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "paramart: error: preview.host=0.0.0.0 is not loopback: other machines could watch the run and stop it; "
        "keep preview.host=127.0.0.1, or add preview.allow_remote=true (the URL then carries a random token)"]
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_each_sweep_job_names_its_own_port_in_its_log(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = paramart_cli("-m", "seed=1,2", "size=32", "steps=2", "progress=false", "preview.enabled=true",
                           f"preview.port={port}", f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    for job in ("0", "1"):
        log = (tmp_path / "sweep" / job / "paramart.log").read_text()
        m = URL.search(log)
        assert m and int(m.group(2)) != port and f"port {port} is in use" in log, log


class _Recorder:
    def __init__(self):
        self.calls = []

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kw):
        self.calls.append(((transient or {}).get("display_id"), update, data.get("text/html", "")))

    def clear_output(self, wait=False):
        pass


def test_notebook_cell_updates_in_place_and_is_a_no_op_elsewhere():
    from IPython.core.interactiveshell import InteractiveShell

    plan = make_plan(paramart.compose(["size=32", "steps=3"]), None, None)
    assert not Watch(plan, None, notebook=True).active  # no IPython shell: not even an observer
    shell = InteractiveShell.instance()
    recorder = _Recorder()
    shell.display_pub = recorder
    try:
        paramart.stylize(size=32, steps=6, progress=False, preview=True, overrides=["preview.refresh=0.01"])
    finally:
        InteractiveShell.clear_instance()
    ids = {display_id for display_id, _, _ in recorder.calls}
    assert len(ids) == 1 and None not in ids  # one cell
    assert [update for _, update, _ in recorder.calls][:2] == [False, True]  # shown once, then updated
    last = recorder.calls[-1][2]
    assert "data:image/png;base64," in last and "<b>done</b> · step 6/6" in last and "loss " in last

