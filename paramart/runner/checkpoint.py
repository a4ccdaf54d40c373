"""``checkpoint.pt``: a run's learned state, safe to load, enough to continue it.

Everything in it is a tensor, number, string, list, tuple, dict or None, so it loads
with ``torch.load(..., weights_only=True)``, which never runs code from the file.

Keys: ``format``, ``param_config``, ``size`` and ``built_size`` (how to rebuild the parameterization:
built at ``built_size``, moved to ``size``),
``state`` (its learned tensors), ``step`` (steps done). Optional: ``optimizer`` (the
optimiser's running state), ``rng`` (random generators, see :func:`rng_state`),
``config`` (the whole run config), ``seconds`` (optimisation time so far) and
``reason`` (why it was written: ``periodic``, ``done``, ``interrupted``,
``non-finite loss``, ``out of memory``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from paramart.errors import ParamartError
from paramart.io.atomic import atomic_write
from paramart.io.runfolder import CHECKPOINT
from paramart.io.torchfile import load_pt
from paramart.params.anchored import PRINT_SURFACE, AnchoredField
from paramart.params.base import Parameterization, build_param, check_param_config

FORMAT = 1


def save_checkpoint(
    path: str | Path,
    param: Parameterization,
    param_config: dict[str, Any],
    *,
    step: int,
    optimizer: torch.optim.Optimizer | None = None,
    param_state: Mapping[str, torch.Tensor] | None = None,
    **extra: Any,
) -> None:
    """Write atomically. ``param_state`` replaces ``param.state_dict()`` (a last good copy);
    ``extra`` adds keys (``rng``, ``config``, ``seconds``, ``reason``)."""
    learned = param.state_dict() if param_state is None else param_state
    state = {
        "format": FORMAT,
        "param_config": param_config,
        "size": list(param.size),
        "built_size": list(getattr(param, "built_size", param.size)),
        "state": {k: v.detach().cpu() for k, v in learned.items()},
        "step": int(step),
        **extra,
    }
    if optimizer is not None:
        state["optimizer"] = _to_cpu(optimizer.state_dict())
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def _to_cpu(value: Any) -> Any:
    # Optimiser state on a GPU would otherwise need that GPU to load.
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_to_cpu(v) for v in value)
    return value


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint file, or the ``checkpoint.pt`` in a run folder, without running code from it."""
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise ParamartError(f"no checkpoint at {path}; give a run folder that has a checkpoint.pt")
    ckpt = load_pt(path, "checkpoint")
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ParamartError(f"{path} is not a paramart checkpoint (format {FORMAT})")
    for key, kind in (("param_config", dict), ("size", list), ("state", dict), ("step", int)):
        if not isinstance(ckpt.get(key), kind) or isinstance(ckpt.get(key), bool):
            raise ParamartError(f"{path} is damaged: its {key!r} entry is missing or of the wrong type")
    check_checkpoint(ckpt, path)
    return ckpt


def param_from_checkpoint(ckpt: dict[str, Any] | str | Path) -> Parameterization:
    """Rebuild the parameterization of a finished run, with its learned state; a finished print
    run's field comes anchored to its canvas (:class:`paramart.params.anchored.AnchoredField`).
    Raises :class:`ParamartError` for a damaged anchor surface."""
    if not isinstance(ckpt, dict):
        ckpt = load_checkpoint(ckpt)
    size, built = tuple(ckpt["size"]), built_size(ckpt)
    # Any init image will do: the learned state replaces what the constructor made.
    # Built only from the allow-list of registered parameterizations, with plain values; built at
    # the size it was built at (a multi-scale run's first stage), then moved to its last size.
    param = build_param(ckpt["param_config"], built, torch.zeros(1, 3, *built))
    if built != size:
        param.rescale(size)
    param.load_state_dict(ckpt["state"])
    surface = ckpt.get(PRINT_SURFACE)
    if surface is None:
        return param
    if (not isinstance(surface, torch.Tensor) or tuple(surface.shape) != (3, *size) or not surface.is_floating_point()
            or not bool(torch.isfinite(surface).all())):
        raise ParamartError(f"checkpoint: its {PRINT_SURFACE} is not (3, {size[0]}, {size[1]}) finite numbers; "
                            "the checkpoint is damaged")
    return AnchoredField(param, surface.float())  # a print run's field, anchored to its canvas


def rng_state() -> dict[str, Any]:
    """The state of every random generator a run may draw from, as tensors and numbers."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": str(kind), "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
                  "pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "random": {"version": int(version), "internal": torch.tensor(internal, dtype=torch.int64),
                   "gauss_next": gauss_next},
    }
    if torch.cuda.is_available():
        state["cuda"] = [s.cpu() for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` saved (CUDA generators only where the GPUs are there)."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    r = state["random"]
    random.setstate((r["version"], tuple(int(x) for x in r["internal"].tolist()), r["gauss_next"]))
    cuda = state.get("cuda")
    if cuda and torch.cuda.is_available():
        for index, s in enumerate(cuda[: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(s, index)


#: the largest canvas a checkpoint may claim (16384 x 16384): what a real run could have learned
MAX_CANVAS_PIXELS = 2**28


def built_size(ckpt: dict[str, Any]) -> tuple[int, int]:
    """The canvas size a checkpoint's parameterization was built at (``built_size``; checkpoints
    made before the key existed were built at their ``size``)."""
    return tuple(ckpt.get("built_size") or ckpt["size"])


def _expected_state(cls: type, size: tuple[int, int], kwargs: dict[str, Any],
                    built: tuple[int, int] | None = None) -> dict[str, torch.Tensor]:
    """The learned tensors' shapes and types, built on the meta device (nothing allocated) at
    ``built`` (default ``size``) and moved to ``size``, starting without an image:
    ``init=noise`` for grids, ``init=none`` for coordinate networks."""
    starts = ("noise", "none") if "init" in kwargs else (None,)
    built = size if built is None else built
    for i, start in enumerate(starts):
        try:
            with torch.device("meta"):
                param = cls(built, init_image=None, **({**kwargs, "init": start} if start else kwargs))
                if built != size:
                    param.rescale(size)
                return param.state_dict()
        except ParamartError:
            if i == len(starts) - 1:
                raise
    raise AssertionError("unreachable")


def check_checkpoint(ckpt: dict[str, Any], path: str | Path, for_resume: bool = False) -> None:
    """Refuse, in one line naming what is wrong, a checkpoint that does not fit its own
    parameterization: step below 0, an absurd canvas, a class or setting not allowed
    (:func:`check_param_config`), learned tensors missing, extra, of another shape or type,
    or not finite. With ``for_resume`` the optimiser and random-generator states are checked too.
    """
    where = f"checkpoint {path}"
    if ckpt["step"] < 0:
        raise ParamartError(f"{where} is damaged: its step is {ckpt['step']}, below 0")
    size = ckpt["size"]
    if (len(size) != 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in size)
            or size[0] * size[1] > MAX_CANVAS_PIXELS):
        raise ParamartError(f"{where} is damaged: its canvas size {size!r} is not two whole numbers of pixels "
                            f"(at most {MAX_CANVAS_PIXELS} in all)")
    cls, kwargs = check_param_config(ckpt["param_config"], where=f"{where}: param_config")
    try:
        built = ckpt.get("built_size") or size
        if (not isinstance(built, list | tuple) or len(built) != 2
                or not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= MAX_CANVAS_PIXELS
                           for s in built)):
            raise ParamartError(f"its built_size {built!r} is not two whole numbers of pixels")
        expected = _expected_state(cls, tuple(size), kwargs, tuple(built))
    except ParamartError as exc:
        raise ParamartError(f"{where}: {exc}") from None
    except Exception as exc:
        raise ParamartError(f"{where}: its parameterization cannot be built ({type(exc).__name__})") from None
    state = ckpt["state"]
    missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or extra:
        raise ParamartError(f"{where} does not fit {cls.__name__}: " + "; ".join(
            [f"missing {', '.join(missing)}"] * bool(missing) + [f"unexpected {', '.join(extra)}"] * bool(extra)))
    for key, want in expected.items():
        got = state[key]
        if not isinstance(got, torch.Tensor):
            raise ParamartError(f"{where} is damaged: state {key!r} is not a tensor")
        if tuple(got.shape) != tuple(want.shape) or got.dtype != want.dtype:
            raise ParamartError(f"{where} does not fit {cls.__name__}: state {key!r} is {tuple(got.shape)} "
                                f"{got.dtype}, expected {tuple(want.shape)} {want.dtype}")
        if got.is_floating_point() and not bool(torch.isfinite(got).all()):
            raise ParamartError(f"{where} is damaged: state {key!r} holds NaN or infinite values; "
                                "resume from an earlier checkpoint")
    config, seconds = ckpt.get("config", {}), ckpt.get("seconds", 0.0)
    if not isinstance(config, dict) or not isinstance(config.get("optim", {}), dict):
        raise ParamartError(f"{where} is damaged: its 'config' entry is not a mapping of settings")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds >= 0:
        raise ParamartError(f"{where} is damaged: its 'seconds' entry is not a number of seconds")
    if not isinstance(ckpt.get("optimizer", {}), dict):
        raise ParamartError(f"{where} is damaged: its 'optimizer' entry is not an optimiser state")
    if for_resume and "rng" in ckpt:
        check_rng(ckpt["rng"], where)


def check_rng(rng: Any, where: str) -> None:
    try:
        ok = (isinstance(rng["torch"], torch.Tensor) and rng["torch"].dtype == torch.uint8
              and tuple(rng["torch"].shape) == tuple(torch.get_rng_state().shape)
              and isinstance(rng["numpy"]["keys"], torch.Tensor) and rng["numpy"]["keys"].numel() == 624
              and isinstance(rng["random"]["internal"], torch.Tensor) and rng["random"]["internal"].numel() == 625)
    except (KeyError, TypeError):
        ok = False
    if not ok:
        raise ParamartError(f"{where} is damaged: its random-generator state is not one paramart wrote")


def check_optimizer_state(saved: dict[str, Any], optimizer: torch.optim.Optimizer, where: str) -> None:
    """Every tensor of a saved optimiser state fits the parameters it will update: a scalar,
    a parameter's shape, or the length of all of them flattened (L-BFGS's history), and finite.
    torch would otherwise accept any shape and fail (or compute nonsense) at the first step."""
    params = [p for g in optimizer.param_groups for p in g["params"]]
    shapes = {tuple(p.shape) for p in params} | {(sum(p.numel() for p in params),), ()}

    def tensors(value: Any):
        if isinstance(value, torch.Tensor):
            yield value
        elif isinstance(value, dict):
            for v in value.values():
                yield from tensors(v)
        elif isinstance(value, list | tuple):
            for v in value:
                yield from tensors(v)

    for t in tensors(saved.get("state", {})):
        if tuple(t.shape) not in shapes and t.numel() != 1:
            raise ParamartError(f"{where}: the optimiser state holds a tensor of shape {tuple(t.shape)}, which fits "
                                "no parameter of this run; the checkpoint is damaged")
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ParamartError(f"{where}: the optimiser state holds NaN or infinite values; the checkpoint is damaged")
