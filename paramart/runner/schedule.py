"""The schedule: a run's canvas sizes and the steps spent at each, coarse to fine.

``schedule.scales`` are canvas sizes as fractions of ``size`` (ascending, ending at 1) and
``schedule.shares`` the fractions of ``steps`` spent at each (normalised; null = equal).
So ``size=512 steps=300 schedule.scales=[0.25,0.5,1] schedule.shares=[0.5,0.3,0.2]``
runs 150 steps at 128 px, 90 at 256 px and 60 at 512 px, and quick overrides such as
``size=64 steps=10`` shrink the whole schedule with them. Pure arithmetic: no model, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from paramart.errors import ParamartError


def schedule(size: int, steps: int, scales: Sequence[float] | None, shares: Sequence[float] | None,
           min_longest: int = 16) -> list[tuple[int, int]]:
    """[(longest side in px, steps)] for each scale, one entry (one stage) when ``scales`` is null.

    ``size`` in px, ``steps`` a count; ``scales`` fractions of ``size`` in (0, 1], ascending,
    ending at 1; ``shares`` non-negative weights, one per scale (null: equal). Steps are
    shared out by largest remainder, so they add up to exactly ``steps``. Coarse scales are
    kept at ``min_longest`` px or more (VGG-19 needs 16 px on the shorter side to reach
    conv5_1; the caller knows the aspect ratio).

    Raises :class:`ParamartError` naming ``schedule.scales`` or ``schedule.shares``."""
    if not scales:
        if shares:
            raise ParamartError("schedule.shares needs schedule.scales")
        return [(size, steps)]
    scales = [float(s) for s in scales]
    if any(s <= 0 or s > 1 for s in scales) or scales != sorted(scales) or scales[-1] != 1:
        raise ParamartError(
            f"schedule.scales={scales} must be fractions of size in (0, 1], ascending and ending at 1, "
            "e.g. [0.25,0.5,1]"
        )
    if shares is None or len(shares) == 0:
        shares = [1.0] * len(scales)
    if len(shares) != len(scales):
        raise ParamartError(f"schedule.shares has {len(shares)} entries but schedule.scales has {len(scales)}")
    if any(s < 0 for s in shares) or sum(shares) <= 0:
        raise ParamartError("schedule.shares must be non-negative and not all zero")
    total = float(sum(shares))
    # largest-remainder rounding, so the steps add up to exactly ``steps``
    exact = [steps * s / total for s in shares]
    counts = [int(e) for e in exact]
    for i in sorted(range(len(exact)), key=lambda i: exact[i] - counts[i], reverse=True)[: steps - sum(counts)]:
        counts[i] += 1
    return [(min(size, max(min_longest, round(size * s))), n) for s, n in zip(scales, counts)]
