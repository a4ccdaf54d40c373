"""Where each frame of a shot looks into the shot's canonical image: the input's backward flows
chained from the shot's first frame (``video.field.form=canonical``, :mod:`paramart.params.canonical_field`).

The canonical image of a shot is its first frame's view, extended wherever the camera goes.
Frame k's pixel x shows the canonical point ``x + D_k(x)``, with ``D_0 = 0`` and

    D_k(x) = b_k(x) + D_{k-1}(x + b_k(x)),

``b_k`` the backward flow k -> k-1 (:mod:`paramart.video.flow`): the pixel came from
``x + b_k(x)`` in frame k-1, which showed the canonical point ``x + b_k(x) + D_{k-1}(x + b_k(x))``.
``D_{k-1}`` is sampled bilinearly; past the frame's edge (new ground entering a pan) it holds
the nearest edge's displacement, so the canonical image grows by the camera's motion there.
This is the deformation of CoDeF (Ouyang et al. 2024, "CoDeF: Content Deformation Fields for
Temporally Consistent Video Processing") taken from the optical flow instead of learned: two
consecutive frames are, by construction, the same canonical pixels moved along the input's flow.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def displacements(backward: Sequence[np.ndarray], size: tuple[int, int]) -> np.ndarray:
    """(n, H, W, 2) float32 ``D_k`` (dx, dy in px) for a shot of ``n = len(backward) + 1``
    frames of ``size`` (height, width) px; ``backward[k - 1]`` is the (H, W, 2) flow from frame
    k to frame k-1 of the shot. ``D_0`` is zero. Raises ValueError for a flow of another size."""
    h, w = size
    out = np.zeros((len(backward) + 1, h, w, 2), np.float32)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    for k, b in enumerate(backward, 1):
        if b.shape != (h, w, 2):
            raise ValueError(f"flow {k} is {b.shape}, not ({h}, {w}, 2)")
        before = cv2.remap(out[k - 1], xs + b[..., 0], ys + b[..., 1], interpolation=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
        out[k] = b + before
    return out
