"""The live preview's settings, checked with the rest of the config before any model loads
(:func:`paramart.runner.validate.validate`); the server itself is :mod:`paramart.outputs.preview`."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from paramart.errors import ParamartError


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback one (127.0.0.0/8, ::1)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        raise ParamartError(f"preview.host={host}: no such host on this machine; use 127.0.0.1") from None
    return all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def check_preview(p: Any) -> None:
    """Refuse bad ``preview.*`` settings (``p`` is the ``preview`` node) with one line
    (:class:`ParamartError`): a port outside 0-65535, a refresh that is not positive, frames
    under 16 px, a host other than loopback without ``preview.allow_remote=true``."""
    if not p.enabled:
        return
    if not 0 <= int(p.port) <= 65535:
        raise ParamartError(f"preview.port={p.port} must be 0 (any free port) or 1-65535")
    if not p.refresh > 0:
        raise ParamartError(f"preview.refresh={p.refresh} must be a positive number of seconds")
    if p.max_size < 16:
        raise ParamartError(f"preview.max_size={p.max_size} must be 16 px or more")
    if not is_loopback(str(p.host)) and not p.allow_remote:
        raise ParamartError(
            f"preview.host={p.host} is not loopback: other machines could watch the run and stop it; keep "
            "preview.host=127.0.0.1, or add preview.allow_remote=true (the URL then carries a random token)")
