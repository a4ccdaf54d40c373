"""Reading input images (files or ``sample:NAME``) and writing outputs atomically."""

from __future__ import annotations

import importlib.resources
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from paramart.errors import ParamartError

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
    """Turn ``sample:NAME`` or a path into an existing file path."""
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
    path = Path(spec).expanduser()
    if not path.exists():
        raise ParamartError(f"image not found: {spec} (give a file path or sample:NAME)")
    if path.is_dir():
        raise ParamartError(f"{spec} is a directory; give an image file")
    return path


def load_image(spec: str) -> Image.Image:
    """Open an image file or sample as 8-bit RGB, honouring EXIF orientation.

    Transparent images are composited on white.
    """
    path = resolve(spec)
    try:
        with Image.open(path) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                im = im.convert("RGBA")
                bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(bg, im)
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(im, dtype=np.float64)
                hi = 65535.0 if arr.max() > 255 else 255.0
                im = Image.fromarray((arr / hi * 255.0).round().astype(np.uint8))
            return im.convert("RGB")
    except ParamartError:
        raise
    except Exception as exc:
        raise ParamartError(f"cannot read image {spec}: {exc}") from None


def fit_size(width: int, height: int, longest: int) -> tuple[int, int]:
    """(height, width) with the longest side scaled to ``longest`` px, keeping the aspect ratio."""
    scale = longest / max(width, height)
    return max(1, round(height * scale)), max(1, round(width * scale))


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


def atomic_write(path: str | Path, write) -> None:
    """Call ``write(tmp_path)`` then rename into place, so readers never see half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ParamartError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_image(image: torch.Tensor | Image.Image, path: str | Path) -> None:
    pil = image if isinstance(image, Image.Image) else to_pil(image)
    fmt = Path(path).suffix.lstrip(".").upper() or "PNG"
    fmt = {"JPG": "JPEG"}.get(fmt, fmt)
    atomic_write(path, lambda tmp: pil.save(tmp, format=fmt))
