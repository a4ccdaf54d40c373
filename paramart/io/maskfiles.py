"""Mask files for masked styles: read as greyscale and checked against the image they
mask (same shape, within a pixel of rounding), on the path runs take."""

from __future__ import annotations

from PIL import Image

from paramart.errors import ParamartError
from paramart.io.images import load_image


def read_mask_file(spec: str, like: tuple[int, int], max_pixels: int | None = None, *,
              against: str = "the content image") -> Image.Image:
    """A mask as 8-bit greyscale (``L``), checked to fit an image of size ``like`` (width, height)."""
    mask = load_image(spec, max_pixels).convert("L")
    check_mask_size(mask.size, like, spec, against=against)
    return mask


def check_mask_size(mask: tuple[int, int], like: tuple[int, int], spec: str, *,
                    against: str = "the content image", tolerance: float = 0.02) -> None:
    """Refuse a mask that cannot be matched to an image: sizes are (width, height).

    A mask of the same aspect ratio (within ``tolerance``, or a pixel of rounding) is
    resized to fit; stretching one of another shape would move its regions, so it is refused.
    """
    (mw, mh), (w, h) = mask, like
    if min(mw, mh, w, h) < 1:
        raise ParamartError(f"mask {spec} is {mw}x{mh} px; a mask needs at least one pixel")
    if (mw, mh) == (w, h):
        return
    ratio, want = mw / mh, w / h
    # A pixel of rounding on the shorter side of either image is never a real mismatch.
    slack = max(tolerance, 1.0 / min(mw, mh), 1.0 / min(w, h))
    if abs(ratio / want - 1.0) > slack:
        raise ParamartError(
            f"mask {spec} is {mw}x{mh} px but {against} is {w}x{h} px (aspect {ratio:.3g} vs {want:.3g}); "
            f"make the mask from that image so that the shapes match"
        )
