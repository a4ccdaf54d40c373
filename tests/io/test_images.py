import numpy as np
import pytest
from PIL import Image

from paramart.errors import ParamartError
from paramart.io.images import load_image, resolve, sample_names, to_tensor


def test_samples_from_scikit_image_wheel():
    names = sample_names()
    for name in ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "brick", "grass", "gravel"):
        assert name in names
    img = load_image("sample:astronaut")
    assert img.mode == "RGB" and img.size == (512, 512)
    with pytest.raises(ParamartError, match="unknown sample 'nope'; choose one of: .*astronaut"):
        resolve("sample:nope")


def test_grayscale_and_rgba_become_rgb(tmp_path):
    Image.fromarray(np.full((8, 8), 200, np.uint8), "L").save(tmp_path / "g.png")
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 255  # transparent red composites to white
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    g = to_tensor(load_image(str(tmp_path / "g.png")))
    assert g.shape == (1, 3, 8, 8) and np.allclose(g.numpy(), 200 / 255)
    assert np.allclose(to_tensor(load_image(str(tmp_path / "t.png"))).numpy(), 1.0)


def test_bad_paths_are_clear(tmp_path):
    with pytest.raises(ParamartError, match="image not found"):
        load_image(str(tmp_path / "missing.png"))
    with pytest.raises(ParamartError, match="is a directory"):
        load_image(str(tmp_path))
    (tmp_path / "x.png").write_bytes(b"no image here")
    with pytest.raises(ParamartError, match="cannot read image"):
        load_image(str(tmp_path / "x.png"))
