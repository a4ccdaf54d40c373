import pytest

import paramart
from paramart.errors import ParamartError


def test_stylize_from_python_with_pil_images(tmp_path):
    content = paramart.load_image("sample:chelsea")
    result = paramart.stylize(content=content, style="sample:coffee", optim="adam", size=32, steps=4,
                              log_every=2, progress=False, out_dir=tmp_path)
    assert result.image.shape == (1, 3, 21, 32)  # chelsea is 451x300
    assert result.pil.size == (32, 21)
    assert [r.step for r in result.history.rows] == [0, 2, 4]  # row k: the image after k steps
    assert (tmp_path / "final.png").is_file() and (tmp_path / "checkpoint.pt").is_file()


def test_compose_gives_the_cli_defaults():
    cfg = paramart.compose(["param=pixel", "size=64"])
    assert cfg.size == 64
    assert list(cfg.objective.style.layers) == ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
    assert list(cfg.objective.content.layers) == ["conv4_2"]
    assert cfg.model.weights == "caffe"


def test_unknown_keyword_is_refused():
    with pytest.raises(ParamartError, match="unknown option 'colour'"):
        paramart.stylize(colour="red")
