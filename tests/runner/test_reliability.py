"""Bad input gets a clear one-line error; odd but valid images are converted; untrusted
files cannot run code; a full disk and running out of memory are explained."""

from __future__ import annotations

import ast
import errno
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import paramart
from paramart.errors import ParamartError
from paramart.geometry import canvas_size
from paramart.io.atomic import atomic_write
from paramart.io.images import load_image, safe_name, to_tensor
from paramart.io.maskfiles import check_mask_size, read_mask_file
from paramart.model.weights import load_file_state
from paramart.runner.checkpoint import load_checkpoint
from tests.conftest import REPO, paramart_cli
from tests.imagefiles import encoded, gradient, png16_rgb, png_bytes

# -- bad inputs, table-driven ------------------------------------------------------------


def _truncated_png(p: Path) -> None:
    data = encoded(gradient(64, 64), "PNG")
    p.write_bytes(data[: len(data) // 2])


def _truncated_jpeg(p: Path) -> None:
    data = encoded(gradient(64, 64), "JPEG")
    p.write_bytes(data[: len(data) // 2])


def _corrupt_png(p: Path) -> None:
    data = bytearray(encoded(gradient(64, 64), "PNG"))
    data[60:90] = bytes(30)  # inside the image stream: the CRC no longer matches
    p.write_bytes(bytes(data))


def _fifo(p: Path) -> None:
    os.mkfifo(p)


#: (name, how to make the file (None: leave it missing), extra load_image arguments, message)
BAD_INPUTS = [
    ("missing.png", None, {}, r"^image not found: .*missing\.png \(give a file path or sample:NAME\)$"),
    ("folder", lambda p: p.mkdir(), {}, r"folder is a directory; give an image file$"),
    ("empty.png", lambda p: p.write_bytes(b""), {}, r"empty\.png is empty \(0 bytes\); give an image file"),
    ("notes.jpg", lambda p: p.write_text("shopping list\n"), {},
     r"cannot read image .*notes\.jpg: not an image format paramart knows; give a PNG, JPEG"),
    ("half.png", _truncated_png, {}, r"cannot read image .*half\.png: .*; the file is damaged or incomplete"),
    ("half.jpg", _truncated_jpeg, {}, r"(?i)cannot read image .*half\.jpg: .*truncated.*re-export or re-download it"),
    ("crc.png", _corrupt_png, {}, r"cannot read image .*crc\.png: .*damaged or incomplete"),
    ("pipe.png", _fifo, {}, r"pipe\.png is not a regular file; give an image file"),
    ("bomb.png", lambda p: p.write_bytes(png_bytes(50_000, 50_000)), {"max_pixels": 175_000_000},
     r"bomb\.png is 50000x50000 = 2500\.0 megapixels, over max_input_pixels=175000000; shrink the image"),
    ("pil_bomb.png", lambda p: p.write_bytes(png_bytes(30_000, 30_000)), {},
     r"pil_bomb\.png is too large to open safely .*; shrink the image, or set max_input_pixels="),
    ("big.png", lambda p: gradient(100, 50).save(p), {"max_pixels": 4000},
     r"big\.png is 100x50 = 0\.0 megapixels, over max_input_pixels=4000"),
    ("zero_width.png", lambda p: p.write_bytes(png_bytes(0, 10)), {}, r"cannot read image .*zero_width\.png"),
]


@pytest.mark.parametrize("name, make, kwargs, message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_one_clear_line(tmp_path, name, make, kwargs, message):
    path = tmp_path / name
    if make is not None:
        make(path)
    with pytest.raises(ParamartError) as info:
        load_image(str(path), **kwargs)
    text = str(info.value)
    assert "\n" not in text
    assert re.search(message, text), text


def test_odd_paths_are_refused_cleanly(tmp_path):
    with pytest.raises(ParamartError, match="image not found|cannot access"):
        load_image("bad\0name.png")
    with pytest.raises(ParamartError, match="cannot access|image not found"):
        load_image(str(tmp_path / ("x" * 5000)))


#: the same failures through the real command line (each subprocess costs seconds)
CLI_CASES = [
    ("empty.png", lambda p: p.write_bytes(b""), [], "is empty (0 bytes); give an image file"),
    ("half.jpg", _truncated_jpeg, [], "the file is damaged or incomplete, re-export or re-download it"),
    ("big.png", lambda p: gradient(100, 50).save(p), ["max_input_pixels=4000"], "over max_input_pixels=4000"),
]


@pytest.mark.parametrize("name, make, extra, message", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_bad_input_through_the_cli(tmp_path, name, make, extra, message):
    make(tmp_path / name)
    res = paramart_cli("size=32", "steps=1", f"style={tmp_path / name}", *extra,
                       f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("paramart: error: ") and message in lines[0], res.stderr
    assert not (tmp_path / "run" / "checkpoint.pt").exists()  # refused before any compute


def test_hydra_full_error_shows_the_traceback(tmp_path):
    res = paramart_cli("size=32", f"content={tmp_path}", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path,
                       env={"HYDRA_FULL_ERROR": "1"})
    assert res.returncode == 2
    assert "Traceback" in res.stderr and "paramart.errors.ParamartError" in res.stderr
    # a folder is read as a clip's frames (paramart/io/video.py): this one holds none
    assert res.stderr.rstrip().splitlines()[-1].startswith(f"paramart: error: {tmp_path} is a folder with no frames")


def test_extreme_aspect_ratio_is_refused_before_vgg():
    sliver = Image.new("RGB", (2000, 10))
    with pytest.raises(ParamartError, match=r"content image is 2000x10 px: at 256 px its short side would be 1 px"):
        canvas_size(sliver, 256)
    with pytest.raises(ParamartError, match="style image is 10x2000 px"):
        paramart.stylize(content=None, style=Image.new("RGB", (10, 2000)), size=32, steps=1, progress=False)


# -- masks -----------------------------------------------------------------------------


def test_mask_size_must_be_matchable(tmp_path):
    check_mask_size((640, 480), (640, 480), "m.png")
    check_mask_size((320, 240), (640, 480), "m.png")  # same shape, resized later
    check_mask_size((301, 200), (451, 300), "m.png")  # a pixel of rounding
    with pytest.raises(ParamartError, match=r"mask m\.png is 480x640 px but the content image is 640x480 px.*"
                                            r"make the mask from that image"):
        check_mask_size((480, 640), (640, 480), "m.png")
    with pytest.raises(ParamartError, match="but the style image is"):
        check_mask_size((100, 100), (640, 480), "m.png", against="the style image")
    Image.new("L", (30, 20), 255).save(tmp_path / "ok.png")
    Image.new("RGBA", (20, 30)).save(tmp_path / "tall.png")
    mask = read_mask_file(str(tmp_path / "ok.png"), (60, 40))
    assert mask.mode == "L" and mask.size == (30, 20)
    with pytest.raises(ParamartError, match=r"mask .*tall\.png is 20x30 px"):
        read_mask_file(str(tmp_path / "tall.png"), (60, 40))


# -- odd but valid images are converted ---------------------------------------------------


def _rgb(path: Path) -> np.ndarray:
    img = load_image(str(path))
    assert img.mode == "RGB"
    return np.asarray(img)


def test_conversions(tmp_path):
    grey = np.full((6, 8), 200, np.uint8)
    Image.fromarray(grey, "L").save(tmp_path / "l.png")
    assert (_rgb(tmp_path / "l.png") == 200).all()

    Image.fromarray(np.stack([grey, np.zeros_like(grey)], -1), "LA").save(tmp_path / "la.png")
    assert (_rgb(tmp_path / "la.png") == 255).all()  # fully transparent: white

    half = np.zeros((6, 8, 4), np.uint8)
    half[..., 0], half[..., 3] = 255, 128  # half-transparent red over white
    Image.fromarray(half, "RGBA").save(tmp_path / "rgba.png")
    assert np.allclose(_rgb(tmp_path / "rgba.png")[0, 0], [255, 127, 127], atol=1)

    pal = Image.fromarray(np.arange(48, dtype=np.uint8).reshape(6, 8) % 3, "P")
    pal.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 759)
    pal.save(tmp_path / "p.png")
    assert tuple(_rgb(tmp_path / "p.png")[0, 1]) == (0, 255, 0)
    pal.save(tmp_path / "pt.png", transparency=0)  # palette entry 0 transparent: white
    assert tuple(_rgb(tmp_path / "pt.png")[0, 0]) == (255, 255, 255)
    assert tuple(_rgb(tmp_path / "pt.png")[0, 2]) == (0, 0, 255)

    Image.new("CMYK", (8, 6), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg", quality=100)
    r, g, b = _rgb(tmp_path / "cmyk.jpg")[3, 4].astype(int)
    assert r > 200 and g < 60 and b < 60  # cyan-free, full magenta + yellow: red

    Image.fromarray(np.full((6, 8), 65535 // 2, np.uint16)).save(tmp_path / "g16.png")
    assert np.allclose(_rgb(tmp_path / "g16.png"), 128, atol=1)
    values = np.zeros((6, 8, 3), np.uint16)
    values[..., 0] = 65535
    (tmp_path / "rgb16.png").write_bytes(png16_rgb(values))
    assert (_rgb(tmp_path / "rgb16.png")[..., 0] == 255).all() and (_rgb(tmp_path / "rgb16.png")[..., 1] == 0).all()

    Image.fromarray(np.full((6, 8), 0.25, np.float32), "F").save(tmp_path / "f.tif")
    assert np.allclose(_rgb(tmp_path / "f.tif"), 64, atol=1)
    Image.new("1", (8, 6), 1).save(tmp_path / "bw.png")
    assert (_rgb(tmp_path / "bw.png") == 255).all()


def test_exif_rotated_photo_is_upright(tmp_path):
    img = gradient(20, 10)  # landscape; orientation 6 says "rotate 90 degrees clockwise to view"
    exif = Image.Exif()
    exif[0x0112] = 6
    img.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    upright = load_image(str(tmp_path / "phone.jpg"))
    assert upright.size == (10, 20)
    expected = np.asarray(img.transpose(Image.Transpose.ROTATE_270), dtype=float)
    assert np.abs(np.asarray(upright, dtype=float) - expected).mean() < 8


# -- the loader never fails in any other way (property-based) ----------------------------

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _load_or_refuse(path: Path) -> None:
    try:
        img = load_image(str(path), max_pixels=1_000_000)
    except ParamartError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert img.mode == "RGB" and min(img.size) >= 1
        assert to_tensor(img).shape == (1, 3, img.height, img.width)


@FUZZ
@given(data=st.binary(min_size=1, max_size=2048))
def test_random_bytes_load_or_refuse(tmp_path, data):
    path = tmp_path / "fuzz.png"
    path.write_bytes(data)
    _load_or_refuse(path)


_SEEDS = {fmt: encoded(gradient(12, 9).convert(mode), fmt)
          for fmt, mode in [("PNG", "RGB"), ("JPEG", "RGB"), ("GIF", "P"), ("BMP", "RGB"), ("TIFF", "RGB"),
                            ("WEBP", "RGB"), ("ICO", "RGBA"), ("PPM", "RGB")]}


@FUZZ
@given(fmt=st.sampled_from(sorted(_SEEDS)), edits=st.lists(st.tuples(st.integers(0, 63), st.integers(0, 255)),
                                                        max_size=6),
       cut=st.none() | st.integers(1, 4096))
def test_damaged_real_headers_load_or_refuse(tmp_path, fmt, edits, cut):
    data = bytearray(_SEEDS[fmt])
    for pos, value in edits:  # overwrite header bytes: sizes, depths, offsets, counts
        if pos < len(data):
            data[pos] = value
    path = tmp_path / f"fuzz.{fmt.lower()}"
    path.write_bytes(bytes(data[:cut]))
    _load_or_refuse(path)


@FUZZ
@given(width=st.integers(0, 2**31 - 1), height=st.integers(0, 2**31 - 1),
       depth=st.sampled_from([1, 2, 4, 8, 16, 3, 0]), colour=st.sampled_from([0, 2, 3, 4, 6, 1, 7]),
       rows=st.none() | st.binary(max_size=512))
def test_random_png_headers_load_or_refuse(tmp_path, width, height, depth, colour, rows):
    path = tmp_path / "hdr.png"
    path.write_bytes(png_bytes(width, height, depth=depth, colour=colour, rows=rows))
    _load_or_refuse(path)


# -- untrusted files ---------------------------------------------------------------------


class _Payload:
    """A pickle that would create a file if loading ran code from it."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (str(self.marker),))


def test_checkpoints_and_weights_never_run_code(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"format": 1, "state": _Payload(marker)}, evil)
    for load, what in ((load_checkpoint, "checkpoint"), (load_file_state, "VGG-19 weights")):
        with pytest.raises(ParamartError, match=f"^{what} .* holds objects other than tensors") as info:
            load(evil)
        assert "weights_only" not in str(info.value)  # never PyTorch's advice to turn it off
    assert not marker.exists()


def test_every_torch_load_is_weights_only():
    """A source scan, so that a new ``torch.load`` cannot forget ``weights_only=True``."""
    loads = []
    for path in (REPO / "paramart").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in (
                    "load", "get_state_dict", "load_state_dict_from_url") and (
                    ast.unparse(node.func).startswith(("torch.", "VGG19_Weights"))):
                flags = {k.arg: ast.unparse(k.value) for k in node.keywords}
                loads.append((path.name, ast.unparse(node.func), flags.get("weights_only")))
    assert loads, "the scan found no torch.load at all"
    assert all(flag == "True" for _, _, flag in loads), loads


def test_damaged_checkpoint_is_refused(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ParamartError, match="cannot load checkpoint"):
        load_checkpoint(tmp_path)
    torch.save({"format": 1, "state": {}, "step": "ten"}, tmp_path / "checkpoint.pt")
    with pytest.raises(ParamartError, match="damaged"):
        load_checkpoint(tmp_path)
    with pytest.raises(ParamartError, match="no checkpoint at .*nowhere"):
        load_checkpoint(tmp_path / "nowhere")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_safe_name_is_always_a_plain_file_name(text):
    name = safe_name(text, max_length=40)
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}", name)
    assert "/" not in name and ".." not in name
    assert name.split(".")[0].lower() not in {"con", "prn", "aux", "nul", "com1", "lpt1"}


def test_safe_name_keeps_readable_names():
    assert safe_name("Starry Night (1889).jpg") == "Starry_Night_1889_.jpg"
    assert safe_name("../../etc/passwd") == "etc_passwd"
    assert safe_name("Étude à l'eau") == "Etude_a_l_eau"
    assert safe_name("-rf") == "rf" and safe_name("...") == "untitled" and safe_name("CON.txt") == "CON_.txt"


# -- writes ------------------------------------------------------------------------------


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_atomic_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "final.png"
    target.write_bytes(b"old")

    def half_then_crash(tmp):
        Path(tmp).write_bytes(b"ne")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, half_then_crash)
    with pytest.raises(ParamartError, match=r"cannot write .*final\.png: the disk is full \(No space left on device\); "
                                            r"free some space"):
        atomic_write(target, _disk_full)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["final.png"]  # no temporary files left


def test_full_disk_during_a_run_is_a_clear_error(tmp_path, monkeypatch):
    quick = dict(size=32, steps=2, optim="adam", progress=False, log_every=1, out_dir=tmp_path)
    paramart.stylize(**quick)
    before = (tmp_path / "checkpoint.pt").read_bytes()
    monkeypatch.setattr(torch, "save", _disk_full)
    with pytest.raises(ParamartError, match=r"cannot write .*checkpoint\.pt: the disk is full"):
        paramart.stylize(**{**quick, "steps": 3, "overwrite": True})
    assert (tmp_path / "checkpoint.pt").read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".") and p.name != ".paramart-run"]


# -- numerics and memory -------------------------------------------------------------------


class _Faulty(torch.nn.Module):
    """The real objective, until call ``after`` + 1: then NaN, or an exception."""

    def __init__(self, inner, after: int, fault):
        super().__init__()
        self.inner, self.after, self.fault, self.calls = inner, after, fault, 0

    @property
    def names(self):
        return self.inner.names

    def forward(self, image):
        self.calls += 1
        out = self.inner(image)
        if self.calls > self.after:
            if self.fault == "nan":
                out["style"] = out["style"] * float("nan")
            else:
                raise self.fault
        return out


def _inject(monkeypatch, after: int, fault) -> None:
    import paramart.runner.stage

    real = paramart.runner.stage.build_objective
    monkeypatch.setattr(paramart.runner.stage, "build_objective", lambda *a, **k: _Faulty(real(*a, **k), after, fault))


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


@pytest.mark.parametrize("optim", ["adam", "lbfgs"])
def test_nan_loss_stops_and_keeps_the_last_good_step(tmp_path, monkeypatch, optim):
    quick = dict(size=32, optim=optim, progress=False, log_every=1)
    _inject(monkeypatch, 5, "nan")  # Adam: steps 1-5 are good; L-BFGS: NaN inside a line search
    with pytest.raises(ParamartError, match=r"the loss became nan at step (\d+); lower the learning rate or the "
                                            r"loss weights; kept the image and checkpoint of step \d+ in ") as info:
        paramart.stylize(steps=50, out_dir=tmp_path / "nan", **quick)
    ckpt = torch.load(tmp_path / "nan" / "checkpoint.pt", weights_only=True)
    good = ckpt["step"]
    assert int(re.search(r"at step (\d+)", str(info.value)).group(1)) == good + 1
    assert ckpt["reason"] == "non-finite loss" and "optimizer" not in ckpt
    if optim == "adam":
        assert good == 5
    monkeypatch.undo()
    straight = paramart.stylize(steps=good, out_dir=tmp_path / "straight", **quick)
    assert torch.allclose(ckpt["state"]["logits"], straight.param.logits.detach(), atol=1e-6)
    assert (_pixels(tmp_path / "nan" / "final.png") == _pixels(tmp_path / "straight" / "final.png")).all()
    rows = (tmp_path / "nan" / "losses.csv").read_text().splitlines()
    assert len(rows) == good + 1 and "nan" not in rows[-1]


def test_nan_through_the_cli(tmp_path):
    run_dir = tmp_path / "run"
    res = paramart_cli("size=32", "steps=5", "optim=adam", "progress=false", "objective.style.weight=1e39",
                       f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1] == (
        f"paramart: error: the loss became inf at step 1; lower the learning rate or the loss weights; "
        f"kept the image and checkpoint of step 0 in {run_dir}")
    assert torch.load(run_dir / "checkpoint.pt", weights_only=True)["step"] == 0
    with Image.open(run_dir / "final.png") as im:
        assert im.size == (32, 21)


@pytest.mark.parametrize("error, where", [
    (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), "GPU"),
    (MemoryError(), "CPU"),
    (RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: not enough memory"), "CPU"),
])
def test_out_of_memory_names_the_size_and_a_way_out(tmp_path, monkeypatch, error, where):
    _inject(monkeypatch, 3, error)
    with pytest.raises(ParamartError, match=rf"^out of {where} memory at size=32; try a smaller size= \(e\.g\. "
                                            r"size=24\) or the multi-scale schedule.*; kept the image and "
                                            r"checkpoint of step 3 in "):
        paramart.stylize(size=32, steps=10, optim="adam", progress=False, out_dir=tmp_path)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["step"] == 3


def test_out_of_memory_before_the_loop(monkeypatch):
    import paramart.runner.stage

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(paramart.api, "VGG19", no_memory)
    with pytest.raises(ParamartError, match=r"^out of CPU memory at size=48 with style images at 24 px; "):
        paramart.stylize(size=48, steps=1, progress=False, overrides=["objective.style_scale=0.5"])
