"""Loss terms. Every module in this package is imported, so each one's schema is
registered with Hydra's ConfigStore (group ``term``) by the time a config is composed."""

import importlib
import pkgutil

for _mod in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_mod.name}")
