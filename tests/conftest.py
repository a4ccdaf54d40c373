import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from paramart.geometry import fit_size
from paramart.io.images import load_image, to_tensor
from paramart.model.vgg import VGG19

REPO = Path(__file__).resolve().parents[1]
SHARED_IMAGES = REPO.parent / "shared" / "images"


@pytest.fixture(scope="session")
def vgg():
    """The real caffe VGG-19, up to conv5_1 (all default layers)."""
    return VGG19("caffe", last_layer="conv5_1")


def sample_tensor(name: str, longest: int = 64) -> torch.Tensor:
    img = load_image(f"sample:{name}")
    return to_tensor(img, fit_size(img.width, img.height, longest))


@pytest.fixture(scope="session")
def shared_images():
    if not SHARED_IMAGES.is_dir():
        pytest.skip("../shared/images is not present")
    return SHARED_IMAGES


def paramart_cli(*args: str, cwd: Path, env: dict | None = None, timeout: int = 300, exe: str | None = None):
    """Run the installed ``paramart`` console script as a user would."""
    exe = exe or str(Path(sys.executable).with_name("paramart"))
    full_env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    full_env.update(env or {})
    return subprocess.run([exe, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


@contextlib.contextmanager
def tmpfs(where: Path, size: str, readonly: bool = False):
    """A real tmpfs of ``size`` mounted at ``where`` (needs root, as in CI; skips elsewhere)."""
    where.mkdir(parents=True, exist_ok=True)
    options = f"{'ro,' if readonly else ''}size={size},mode=0777"
    try:
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {res.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30)


def visible_pattern(param, out_std: float = 0.5):
    """Coordinate networks start flat grey: give them a visible pattern (returns ``param``)."""
    with torch.no_grad():
        if hasattr(param, "out"):
            param.out.weight.normal_(0, out_std)
        for table in getattr(param, "tables", []):
            table.normal_(0, 1.0)
        if hasattr(param, "mlp"):
            param.mlp[-1].weight.normal_(0, 1.0)
    return param
