"""Reading input images (files or ``sample:NAME``) and writing outputs atomically."""

from __future__ import annotations

import importlib.resources
import re
import threading
import unicodedata
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from paramart.errors import ParamartError
from paramart.io.atomic import atomic_write

SAMPLE_PREFIX = "sample:"


def sample_names() -> list[str]:
    """Images bundled in scikit-image's wheel, usable as ``sample:NAME``."""
    data = importlib.resources.files("skimage") / "data"
    return sorted(
        p.name.rsplit(".", 1)[0]
        for p in data.iterdir()
        if p.name.lower().endswith((".png", ".jpg")) and not p.name.startswith("chessboard")
    )


def resolve(spec: str) -> Path:
    """Turn ``sample:NAME`` or a path into the path of an existing, non-empty regular file."""
    spec = str(spec)
    if spec.startswith(SAMPLE_PREFIX):
        name = spec[len(SAMPLE_PREFIX) :]
        data = importlib.resources.files("skimage") / "data"
        for ext in (".png", ".jpg"):
            candidate = data / f"{name}{ext}"
            if candidate.is_file():
                return Path(str(candidate))
        raise ParamartError(
            f"unknown sample {name!r}; choose one of: {', '.join(sample_names())}"
        )
    try:
        path = Path(spec).expanduser()
        if not path.exists():
            raise ParamartError(f"image not found: {spec} (give a file path or sample:NAME)")
        if path.is_dir():
            raise ParamartError(f"{spec} is a directory; give an image file")
        # Devices and pipes (/dev/zero, a FIFO) could make a decoder read forever.
        if not path.is_file():
            raise ParamartError(f"{spec} is not a regular file; give an image file")
        if path.stat().st_size == 0:
            raise ParamartError(f"{spec} is empty (0 bytes); give an image file, re-export it if it was cut off")
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte, no permission to look
        raise ParamartError(f"cannot access {spec!r}: {_first_line(exc)}; check the path") from None
    return path


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "strerror", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_pil_limit_lock = threading.Lock()


@contextmanager
def _pil_pixel_limit(max_pixels: int | None) -> Iterator[None]:
    """While one image opens: our ``max_pixels`` check replaces Pillow's decompression-bomb
    guard, and Pillow's warnings about damaged files stay quiet (they become our errors).

    Pillow keeps its limit in a global (it warns above 89 MP and refuses above twice that,
    whatever ``max_input_pixels`` says), hence the lock. With ``max_pixels=None`` its guard stays.
    """
    with _pil_limit_lock, warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="PIL")
        saved = Image.MAX_IMAGE_PIXELS
        if max_pixels is not None:
            Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _to_8bit(im: Image.Image) -> Image.Image:
    """16/32-bit integer and float greyscale (16-bit PNG, scientific TIFF) -> 8-bit ``L``."""
    arr = np.asarray(im, dtype=np.float64)
    top = float(np.nanmax(arr)) if arr.size else 0.0
    # Scale by the format's range, guessed from the data: floats in [0, 1], 8-bit values
    # stored wide, or the full 16-bit range.
    hi = 1.0 if im.mode == "F" and top <= 1.0 else 255.0 if top <= 255 else 65535.0
    arr = np.nan_to_num(arr / hi * 255.0, nan=0.0)
    return Image.fromarray(arr.clip(0, 255).round().astype(np.uint8), "L")


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB. Transparent pixels are composited on white (the alpha
    is not an input of the losses; white is what a viewer shows behind a transparent PNG)."""
    if im.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        im = _to_8bit(im)
    if im.mode in ("RGBa", "La"):  # premultiplied alpha
        im = im.convert("RGBA")
    if im.has_transparency_data:
        im = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, im)
    return im.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, HSV: Pillow's own conversions


def _exif_upright(im: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(im)
    except Exception:  # a broken orientation tag: use the pixels as stored rather than refuse
        return im.copy()  # the caller closes ``im``, which frees its pixels


def open_image(spec: str, max_pixels: int | None = None) -> Image.Image:
    """Open and decode an image file or sample, upright (EXIF orientation), in its own mode.

    Everything that can go wrong with the file becomes a one-line :class:`ParamartError`
    naming it; ``max_pixels`` (the ``max_input_pixels`` option) refuses absurd sizes
    before any pixel is decoded.
    """
    path = resolve(spec)
    try:
        with _pil_pixel_limit(max_pixels), Image.open(path) as im:
            width, height = im.size
            if width < 1 or height < 1:
                raise ParamartError(f"cannot read image {spec}: it claims a size of {width}x{height} px")
            if max_pixels is not None and width * height > max_pixels:
                raise ParamartError(
                    f"{spec} is {width}x{height} = {width * height / 1e6:.1f} megapixels, over "
                    f"max_input_pixels={max_pixels}; shrink the image, or raise max_input_pixels= if you trust it"
                )
            im.load()
            return _exif_upright(im)
    except ParamartError:
        raise
    except Image.DecompressionBombError as exc:
        raise ParamartError(
            f"{spec} is too large to open safely ({_first_line(exc)}); shrink the image, "
            "or set max_input_pixels= if you trust it"
        ) from None
    except UnidentifiedImageError:
        raise ParamartError(
            f"cannot read image {spec}: not an image format paramart knows; give a PNG, JPEG, WebP, TIFF, BMP or GIF"
        ) from None
    except PermissionError:
        raise ParamartError(f"cannot read image {spec}: permission denied; check the file's permissions") from None
    except MemoryError:
        raise ParamartError(f"cannot read image {spec}: not enough memory to decode it; shrink the image") from None
    except Exception as exc:  # Pillow's decoders raise many types for damaged files
        raise ParamartError(
            f"cannot read image {spec}: {_first_line(exc)}; the file is damaged or incomplete, "
            "re-export or re-download it"
        ) from None


def load_image(spec: str, max_pixels: int | None = None) -> Image.Image:
    """Open an image file or sample as 8-bit RGB, honouring EXIF orientation.

    Greyscale, paletted, CMYK, 16-bit and float images are converted; transparent
    pixels are composited on white. ``max_pixels`` refuses larger images (see :func:`open_image`).
    """
    im = open_image(spec, max_pixels)
    try:
        return _to_rgb(im)
    except Exception as exc:  # an exotic mode Pillow cannot convert
        raise ParamartError(
            f"cannot read image {spec}: cannot convert its {im.mode} pixels to RGB ({_first_line(exc)}); "
            "re-save it as an 8-bit RGB PNG or JPEG"
        ) from None


def to_tensor(image: Image.Image, size: tuple[int, int] | None = None) -> torch.Tensor:
    """PIL image -> (1, 3, H, W) float tensor in [0, 1], optionally resized to (H, W)."""
    if size is not None and (image.height, image.width) != tuple(size):
        image = image.resize((size[1], size[0]), Image.Resampling.LANCZOS)
    arr = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()


def to_pil(image: torch.Tensor) -> Image.Image:
    """(1, 3, H, W) or (3, H, W) tensor in [0, 1] -> 8-bit RGB PIL image."""
    if image.dim() == 4:
        image = image[0]
    arr = image.detach().float().clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(arr)


def resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Differentiable resize of a (N, C, H, W) tensor, antialiased when shrinking."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    return F.interpolate(image, size=tuple(size), mode="bicubic", align_corners=False, antialias=True)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def safe_name(text: str, max_length: int = 100, default: str = "untitled") -> str:
    """A file name made from untrusted text (a config value, an image's name, a sweep label).

    Only ASCII letters, digits, ``.``, ``_`` and ``-`` survive (runs of anything else
    become one ``_``), so the result has no path separators, no ``..`` component, no
    leading dot or dash (hidden files, options), no Windows device name, and at most
    ``max_length`` characters. Text that leaves nothing gives ``default``.
    """
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    name = _UNSAFE.sub("_", ascii_text)
    name = re.sub(r"\.{2,}", ".", name).strip("._-")
    name = name[:max_length].rstrip("._-")
    stem, dot, rest = name.partition(".")
    if stem.lower() in _RESERVED:  # Windows refuses these whatever the extension
        name = f"{stem}_{dot}{rest}"[: max(max_length, len(stem) + 1)]
    return name or default


def save_image(image: torch.Tensor | Image.Image, path: str | Path) -> None:
    """Save a (1, 3, H, W) or (3, H, W) tensor in [0, 1] (clamped, rounded to 8 bits) or a PIL
    image to ``path``, in the format its suffix names (PNG when none; .jpg is JPEG), atomically.
    Raises :class:`paramart.errors.WriteError` (one line) when the file cannot be written."""
    pil = image if isinstance(image, Image.Image) else to_pil(image)
    fmt = Path(path).suffix.lstrip(".").upper() or "PNG"
    fmt = {"JPG": "JPEG"}.get(fmt, fmt)
    atomic_write(path, lambda tmp: pil.save(tmp, format=fmt))
