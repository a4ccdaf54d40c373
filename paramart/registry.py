"""Registries of pluggable parts: the parameterizations, the loss terms, the optimisers.

A registry is the allow-list of what a config may build: a class is registered with its
schema (a dataclass whose ``_target_`` default is the class path) under a short name, the
schema is stored in Hydra's ConfigStore as ``GROUP/NAME_schema`` for ``conf/GROUP/NAME.yaml``
to extend, and :meth:`Registry.build_args` turns a config, from the command line or read
back from a file someone else wrote (a checkpoint, a run folder's ``overrides.yaml``), into
the class and its keyword arguments: the ``_target_`` must be registered, the keys must be
the schema's, and every value plain (:mod:`paramart.trust`). Nothing is ever passed to
Hydra's ``instantiate``.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from paramart.errors import ParamartError
from paramart.trust import plain_arguments


@dataclass(frozen=True)
class Entry:
    """One registered part: its short name (``param=NAME``), schema, and class path."""

    name: str  #: the short name (``pixel``, ``gram``, ``adam``)
    schema: type  #: the dataclass schema its config is checked against
    target: str  #: the class's dotted path, the config's ``_target_``

    def cls(self) -> type:
        """The registered class, imported on first use."""
        module, _, name = self.target.rpartition(".")
        return getattr(importlib.import_module(module), name)


class Registry:
    """The allow-list of one config group (``group``: ``param``, ``term``, ``optim``);
    ``what`` names its parts in messages ("parameterization", "loss term", "optimiser")."""

    def __init__(self, group: str, what: str, ignore: frozenset[str] = frozenset()):
        self.group, self.what = group, what
        self.ignore = ignore  #: config keys read elsewhere, not passed to the class (``_partial_``)
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, schema: type, target: str | None = None) -> None:
        """Register ``schema`` as ``GROUP/NAME_schema`` and its class (``target``, default the
        schema's ``_target_``) as one this registry may build."""
        target = target or schema._target_
        ConfigStore.instance().store(group=self.group, name=f"{name}_schema", node=schema)
        self._entries[target] = Entry(name, schema, target)

    def entries(self) -> dict[str, Entry]:
        """{class path: entry} of everything registered."""
        return dict(self._entries)

    def names(self) -> list[str]:
        """The registered short names (``pixel``, ``gram`` ...), sorted; listed in error messages."""
        return sorted(e.name for e in self._entries.values())

    def entry(self, config: Any, where: str) -> Entry:
        """The entry ``config``'s ``_target_`` names; :class:`ParamartError` when there is none."""
        if not isinstance(config, Mapping):
            raise ParamartError(f"{where}: expected the {self.what}'s settings, found {type(config).__name__}")
        target = config.get("_target_")
        if target not in self._entries:
            raise ParamartError(f"{where}: {target!r} is not a registered {self.what} ({', '.join(self.names())})")
        return self._entries[target]

    def build_args(self, config: Mapping[str, Any], where: str | None = None) -> tuple[type, dict[str, Any]]:
        """(class, keyword arguments) for ``config``: a registered ``_target_``, only the
        schema's keys, each a plain value of the schema's type, defaults filled from the schema.

        Raises :class:`ParamartError` (one line, naming ``where``, default the group) otherwise."""
        where = where or self.group
        if OmegaConf.is_config(config):
            config = OmegaConf.to_container(config, resolve=True)
        entry = self.entry(config, where)
        fields = {f.name for f in dataclasses.fields(entry.schema)} - {"_target_"} - self.ignore
        values = plain_arguments({k: v for k, v in config.items() if k not in self.ignore},
                                 f"{where} ({entry.name})", fields)
        try:
            node = OmegaConf.merge(OmegaConf.structured(entry.schema), {"_target_": entry.target}, values)
            kwargs = OmegaConf.to_container(node, resolve=True, throw_on_missing=True)
        except OmegaConfBaseException as exc:
            first = str(exc).strip().splitlines()[0]
            key = getattr(exc, "full_key", None) or getattr(exc, "key", None)
            raise ParamartError(f"{where} ({entry.name}): {f'{self.group}.{key}: ' if key else ''}{first}") from None
        for key in ("_target_", *self.ignore):
            kwargs.pop(key, None)
        return entry.cls(), kwargs
