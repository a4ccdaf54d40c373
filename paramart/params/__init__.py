"""Image parameterizations. Every module in this package is imported, so each one's
schema is registered with Hydra's ConfigStore by the time a config is composed."""

import importlib
import pkgutil

from paramart.params.base import Parameterization, register

__all__ = ["Parameterization", "register"]

for _mod in pkgutil.iter_modules(__path__):
    if _mod.name != "base":
        importlib.import_module(f"{__name__}.{_mod.name}")
