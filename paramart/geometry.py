"""Canvas and image sizes: pure arithmetic on (height, width) pairs, no I/O, no model.

VGG-19's deepest layer (conv5_1) sits behind four 2x poolings, so an image it is to see
needs at least 16 px on its shorter side; every size paramart resizes to is checked here.
"""

from __future__ import annotations

from PIL import Image

from paramart.errors import ParamartError

#: the shortest side VGG-19 can take through four poolings to conv5_1, in px
MIN_SIDE = 16


def fit_size(width: int, height: int, longest: int) -> tuple[int, int]:
    """(height, width) with the longest side scaled to ``longest`` px, keeping the aspect ratio.

    Each side is at least 1 px. Raises nothing (``longest`` is checked by the caller)."""
    scale = longest / max(width, height)
    return max(1, round(height * scale)), max(1, round(width * scale))


def fit(image: Image.Image, longest: int, what: str, fix: str = "raise size=") -> tuple[int, int]:
    """(height, width) of ``image`` scaled so its longest side is ``longest`` px.

    Raises :class:`ParamartError` (naming ``what`` and the ``fix`` to apply) when the
    shorter side would be under VGG-19's 16 px."""
    h, w = fit_size(image.width, image.height, longest)
    if min(h, w) < MIN_SIDE:
        raise ParamartError(
            f"the {what} is {image.width}x{image.height} px: at {longest} px its short side would be "
            f"{min(h, w)} px but VGG-19 needs {MIN_SIDE}; crop it to a less extreme shape or {fix}"
        )
    return h, w


def canvas_size(content: Image.Image | None, size: int) -> tuple[int, int]:
    """(height, width) of the canvas: the content image's aspect with the longest side
    ``size`` px; ``size`` x ``size`` without a content image (texture synthesis).

    Raises :class:`ParamartError` when ``size`` is under 16 px or the content image is too
    thin to keep 16 px on its shorter side."""
    if size < MIN_SIDE:
        raise ParamartError(f"size={size} is too small; VGG-19 needs at least {MIN_SIDE} px")
    if content is None:
        return size, size
    return fit(content, size, "content image")
