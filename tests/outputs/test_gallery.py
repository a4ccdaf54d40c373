"""Time-lapse, loss plot and the gallery site, checked in a real headless Chromium."""

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

import paramart
from paramart.io.images import resolve, safe_name
from paramart.outputs.gallery import build_gallery, find_runs
from paramart.outputs.timelapse import Timelapse, auto_every
from tests.conftest import REPO, paramart_cli

ARTIFACTS = REPO / "test-artifacts"
GALLERY = str(Path(sys.executable).with_name("paramart-gallery"))
EVIL = 'x"><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    evil_style = base / f"{EVIL}.png"
    shutil.copyfile(resolve("sample:coffee"), evil_style)
    dirs = []
    for i, (style, optim) in enumerate([(str(evil_style), "adam"), ("sample:hubble_deep_field", "lbfgs")]):
        out = base / f"run{i}"
        paramart.stylize(content="sample:chelsea", style=style, optim=optim, size=40, steps=6, log_every=2,
                         progress=False, out_dir=out, overrides=["timelapse.every=2"])
        dirs.append(out)
    return dirs


def test_run_writes_timelapse_plot_and_facts(runs):
    run = runs[0]
    with Image.open(run / "timelapse.gif") as gif:
        assert gif.n_frames == 4  # steps 0, 2, 4, 6
        assert gif.size == (40, 27)
        gif.seek(gif.n_frames - 1)
        assert gif.info["duration"] >= 1000  # the finished image is held
    assert not (run / "frames").exists()  # streamed frames are cleaned up
    with Image.open(run / "losses.png") as plot:
        assert plot.size[0] > 300
    assert (run / "inputs" / "content.jpg").is_file() and (run / "inputs" / "style_0.jpg").is_file()


def test_timelapse_frame_count_is_bounded_by_default(tmp_path):
    cfg = paramart.compose().timelapse
    steps = 1000
    lapse = Timelapse(tmp_path, (300, 500), every=auto_every(steps, cfg.frames), fps=cfg.fps,
                      hold_seconds=cfg.hold_seconds, max_size=cfg.max_size, mp4=False)
    for step in range(steps + 1):
        lapse.capture(step, torch.rand(1, 3, 300, 500), force=step in (0, steps))
    (gif_path,) = lapse.write()
    with Image.open(gif_path) as gif:
        assert cfg.frames - 2 <= gif.n_frames <= cfg.frames + 2
        assert max(gif.size) == cfg.max_size
    # noise is the worst case for GIF compression; real frames are far smaller
    assert gif_path.stat().st_size < 12e6


def test_gallery_escapes_text_and_sanitises_names(runs, tmp_path):
    index = build_gallery(runs, tmp_path / "site", title="<script>alert('t')</script>")
    page = index.read_text()
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "<img src=x onerror" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert page.count("<article") == 2
    for piece in (tmp_path / "site" / "pieces").iterdir():
        assert piece.name == safe_name(piece.name)
        assert {"final.png", "timelapse.gif", "losses.png"} <= {p.name for p in piece.iterdir()}
    assert "http://" not in page and "https://" not in page  # offline: nothing external


def test_gallery_cli_on_a_sweep(tmp_path):
    sweep = tmp_path / "sweep"
    res = paramart_cli("-m", "size=32", "steps=2", "progress=false", "optim=adam", "seed=1,2",
                       f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert find_runs([sweep]) == [sweep / "0", sweep / "1"]
    res = paramart_cli(f"runs={sweep}", f"out={tmp_path / 'site'}", cwd=tmp_path,
                       exe=GALLERY)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "site" / "index.html").read_text().count("<article") == 2
    assert not (tmp_path / "outputs").exists()
    res = paramart_cli(f"runs={tmp_path / 'nothing'}", cwd=tmp_path,
                       exe=GALLERY)
    assert res.returncode == 2 and "no such run or sweep directory" in res.stderr


def _browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        if os.environ.get("PARAMART_REQUIRE_BROWSER"):
            pytest.fail("chromium and chromedriver are required (apt-get install chromium chromium-driver)")
        pytest.skip("chromium/chromedriver not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1280,1600", "--allow-file-access-from-files"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=opts)


def test_gallery_page_in_headless_chromium(runs, tmp_path):
    index = build_gallery(runs, tmp_path / "site", title="browser check")
    browser = _browser()
    try:
        browser.get(index.resolve().as_uri())
        browser.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
        browser.execute_async_script("""
            const done = arguments[arguments.length - 1];
            Promise.all(Array.from(document.images).map(i => i.complete ? 0 :
                new Promise(r => { i.onload = i.onerror = r; }))).then(done);""")
        images = browser.execute_script(
            "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])")
        assert len(images) == 2 * 5  # final, time-lapse, content, style, loss plot per piece
        broken = [src for src, complete, width in images if not (complete and width > 0)]
        assert broken == []
        assert any(src.endswith("timelapse.gif") for src, _, _ in images)
        errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert errors == []
        ARTIFACTS.mkdir(exist_ok=True)
        assert browser.save_screenshot(str(ARTIFACTS / "gallery.png"))
    finally:
        browser.quit()


def test_gallery_shows_high_resolution_renders(runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs[1], run)
    Image.new("RGB", (1200, 700), "red").save(run / "render_1200x700.png")
    index = build_gallery([run], tmp_path / "site")
    piece = next((tmp_path / "site" / "pieces").iterdir())
    with Image.open(piece / "render_1200x700-crop.png") as crop:
        assert crop.size == (512, 512)  # a full-resolution crop, not a shrunken copy
    with Image.open(piece / "render_1200x700-preview.jpg") as preview:
        assert preview.size == (1024, 597)
    assert "render 1200x700 (preview)" in index.read_text()


# -- runs from other people: damaged, symlinked, or the site itself ---------------------------


def _copy_run(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, symlinks=True)
    return dest


def test_gallery_skips_damaged_runs_and_lists_them(runs, tmp_path):
    base = tmp_path / "runs"
    good = _copy_run(runs[1], base / "a_good")
    damage = {
        "b_json": lambda d: (d / "run.json").write_text("{not json"),
        "c_seconds": lambda d: (d / "run.json").write_text('{"seconds": "fast", "param": "pixel"}'),
        "d_list": lambda d: (d / "run.json").write_text("[1, 2]"),
        "e_overrides": lambda d: (d / ".hydra").mkdir() or (d / ".hydra" / "overrides.yaml").write_text("{a: ["),
        "f_final": lambda d: (d / "final.png").write_bytes(b"\x89PNG\r\n\x1a\n broken"),
    }
    for name, make in damage.items():
        make(_copy_run(runs[1], base / name))
    (good / "render_10x10.png").write_bytes(b"not a png")  # a corrupt render: only the render is left out
    res = paramart_cli(f"runs={base}", f"out={tmp_path / 'site'}", cwd=tmp_path, exe=GALLERY)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    page = (tmp_path / "site" / "index.html").read_text()
    assert page.count("<article") == 1
    lines = res.stderr.strip().splitlines()
    for name in damage:
        assert any(line.startswith(f"paramart-gallery: warning: skipped {base / name}: ") for line in lines), name
    assert lines[-2].startswith("paramart-gallery: warning: 5 damaged run(s) skipped: ")
    assert any("render_10x10.png: not shown" in line for line in lines)


def test_gallery_never_follows_symlinks_out_of_a_run(runs, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password=hunter2")
    run = _copy_run(runs[1], tmp_path / "runs" / "run")
    (run / "timelapse.gif").unlink()
    (run / "timelapse.gif").symlink_to(secret)
    (run / "inputs" / "style_0.jpg").unlink()
    (run / "inputs" / "style_0.jpg").symlink_to("/etc/passwd")
    (run / "render_4x4.png").symlink_to(secret)
    (tmp_path / "runs" / "linked").symlink_to(runs[0])  # a symlinked run folder is not entered
    index = build_gallery([tmp_path / "runs"], tmp_path / "site")
    site = tmp_path / "site"
    copied = [p for p in site.rglob("*") if p.is_file()]
    assert not any(b"hunter2" in p.read_bytes() or b"root:" in p.read_bytes() for p in copied)
    assert {p.name for p in (site / "pieces").iterdir() for p in p.iterdir()} == {
        "final.png", "losses.png", "content.jpg"}
    assert index.read_text().count("<article") == 1


def test_gallery_never_lists_its_own_output(runs, tmp_path):
    base = tmp_path / "runs"
    _copy_run(runs[0], base / "0")
    _copy_run(runs[1], base / "1")
    for _ in range(2):  # the second build finds the first one's pieces/ inside runs/
        index = build_gallery([base], base / "site")
        assert index.read_text().count("<article") == 2


def test_gallery_page_comes_from_an_autoescaping_template(runs, tmp_path):
    run = _copy_run(runs[1], tmp_path / "run")
    facts = json.loads((run / "run.json").read_text())
    facts["device"] = "<script>alert(1)</script>"
    (run / "run.json").write_text(json.dumps(facts))
    page = build_gallery([run], tmp_path / "site", intro="{{ 7*7 }} & <b>").read_text()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "{{ 7*7 }} &amp; &lt;b&gt;" in page  # text is never evaluated as a template
