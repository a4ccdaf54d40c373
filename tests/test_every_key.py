"""Every key of every config group, hostile values, the checks a run makes (issue #21, kinds 4-6).

The keys are discovered from the composed configs (the schemas and the YAML of each group
option), so a new key is covered with no change here. Each hostile value goes in as the
command line would give it (parsed by Hydra's override parser, merged into the typed
config) and then through :func:`paramart.api.check`, the checks ``paramart`` makes before
any model loads. Each must be accepted, or refused with :class:`ParamartError` (or the
schema's own type error) whose one line names the key; any other exception is a bug.
The same for ``paramart-render``'s keys.
"""

from __future__ import annotations

import functools
import os

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

import paramart
from paramart.errors import ParamartError

HOSTILE = ["nan", "inf", "-inf", "0", "-1", "1e300", str(2**70), "''", "abc", "[]", "[[1]]", "[0.5]", "[1,2,3]",
           "null", "true", "-1e-9", "0.5"]
#: the runs whose keys are tried: every option of the param, optim and objective groups, and each experiment
BASES = [["param=pixel"], ["param=fft"], ["param=cppn"], ["param=fourier_cppn"], ["param=hashgrid"],
         ["optim=adam"], ["objective=texture"], ["objective=dream"], ["term@objective.style=w2"],
         ["experiment=multiscale"], ["experiment=masked_styles"], ["experiment=print"], ["experiment=field_print"],
         ["experiment=preserve_color"], ["experiment=multi_style"]]
#: keys whose value is a file or folder to read: tried with values that are not
PATHS = {"content", "style", "resume", "model.weights"}
#: keys a hostile value cannot make unsafe and that only the run's device or timing decides
SKIP = {"device"}  # 'cuda' on a machine without one is its own clear error, tested elsewhere


def leaves(node, prefix: str = "") -> list[str]:
    if isinstance(node, DictConfig):
        return [k for key in node for k in leaves(node._get_node(key), f"{prefix}{key}.")]
    return [prefix.rstrip(".")]


@functools.cache
def base(overrides: tuple[str, ...]) -> DictConfig:
    return paramart.compose([*overrides, "progress=false"])


def keys() -> list[tuple[tuple[str, ...], str]]:
    out = []
    for b in BASES:
        cfg = base(tuple(b))
        out += [(tuple(b), k) for k in leaves(cfg) if not k.startswith("hydra") and k not in SKIP]
    return sorted(set(out))


KEYS = keys()
PARSER = OverridesParser.create()


def parse(key: str, text: str):
    (override,) = PARSER.parse_overrides([f"{key}={text}"])
    return override.value()


def names_key(message: str, key: str) -> bool:
    if key.endswith("._target_"):  # the class a group option names: the message names the group
        key = key.rsplit(".", 1)[0]
    leaf = key.rsplit(".", 1)[-1]
    return key in message or f"{leaf}=" in message or f".{leaf}" in message or f"{leaf}:" in message


def check_one(b: tuple[str, ...], key: str, text: str) -> None:
    cfg = base(b).copy()
    try:
        OmegaConf.update(cfg, key, parse(key, text), merge=False)
    except OmegaConfBaseException as exc:  # the schema's own type check: Hydra prints it naming the key
        assert key in str(exc) or key.rsplit(".", 1)[-1] in str(exc), (key, text, str(exc))
        return
    try:
        paramart.api.check(cfg)
    except ParamartError as exc:
        message = str(exc)
        assert "\n" not in message, (key, text, message)
        assert names_key(message, key) or key in PATHS, (key, text, message)
    except Exception as exc:  # noqa: BLE001  (the point of the test)
        pytest.fail(f"{key}={text} ({' '.join(b)}): {type(exc).__name__}: {str(exc)[:300]}")


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.sampled_from(KEYS), st.sampled_from(HOSTILE))
def test_every_key_refuses_hostile_values_in_one_line(where, text):
    b, key = where
    check_one(b, key, text)


def test_the_keys_are_discovered():
    found = {k for _, k in KEYS}
    for key in ("size", "param.fourier_features", "param.finest", "model.memory_budget", "objective.style.eps",
                "zoom.levels", "preview.port", "optim.betas", "schedule.scales", "timelapse.fps"):
        assert key in found, key


# -- paramart-render ---------------------------------------------------------------------


@functools.cache
def render_base() -> DictConfig:
    from hydra import compose, initialize_config_module
    from hydra.core.config_store import ConfigStore

    from paramart.cli.render import RenderConfig

    ConfigStore.instance().store(name="render_schema", node=RenderConfig)
    with initialize_config_module(config_module="paramart.conf", version_base="1.3"):
        return compose(config_name="render", overrides=["run=nowhere", "zoom.to=4"])


RENDER_KEYS = [k for k in leaves(render_base()) if k not in ("run", "device")]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.sampled_from(RENDER_KEYS), st.sampled_from(HOSTILE))
def test_every_render_key_refuses_hostile_values_in_one_line(key, text):
    from paramart.outputs.export import check_render

    cfg = render_base().copy()
    try:
        OmegaConf.update(cfg, key, parse(key, text), merge=False)
    except OmegaConfBaseException as exc:
        assert key in str(exc) or key.rsplit(".", 1)[-1] in str(exc), (key, text, str(exc))
        return
    try:
        check_render(cfg)
    except ParamartError as exc:
        assert "\n" not in str(exc) and names_key(str(exc), key), (key, text, str(exc))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"{key}={text}: {type(exc).__name__}: {str(exc)[:300]}")


def test_the_render_keys_are_discovered():
    assert {"zoom.to", "zoom.fps", "zoom.frames", "zoom.center", "width", "tile", "repeat"} <= set(RENDER_KEYS)


@pytest.mark.skipif(os.environ.get("PARAMART_EVERY_KEY") != "all", reason="the exhaustive sweep (about 1 min): "
                    "PARAMART_EVERY_KEY=all")
def test_every_key_and_every_hostile_value():
    """Each key once (each parameterization's keys under each), with every hostile value."""
    seen: set[str] = set()
    for b, key in KEYS:
        if key in seen and not key.startswith(("param.", "objective.")):
            continue
        seen.add(key)
        for text in HOSTILE:
            check_one(b, key, text)
    for key in RENDER_KEYS:
        for text in HOSTILE:
            test_every_render_key_refuses_hostile_values_in_one_line.hypothesis.inner_test(key, text)
