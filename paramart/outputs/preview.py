"""``preview.enabled=true``: a small web server that shows a run as it paints.

The server is the standard library's ``http.server`` in daemon threads: it is a handful of
fixed routes for one user, so it needs no dependency, and it dies with the run's process.

Safe by default:

* it binds to 127.0.0.1; another host needs ``preview.allow_remote=true`` and then every
  request must carry the random token printed in the URL;
* on loopback the ``Host`` header must name the loopback address, so a web page elsewhere
  cannot reach it through DNS rebinding; the Stop button's request needs a per-run nonce
  that only the page itself knows, so another site cannot stop the run;
* it serves a fixed set of routes and, from the run folder, only a fixed list of file
  names: no path is ever joined from the request, so ``../`` and absolute paths are 404,
  and there is no directory listing;
* it stops when the run ends, is stopped or crashes (see :class:`PreviewServer.close`); a
  page that is watching first gets up to :data:`GRACE` seconds to fetch the final state,
  so it says done, stopped or failed (:meth:`PreviewServer.close_when_told`).

Why one file of about 260 lines: the routes, the handler's checks, binding and closing are
one security boundary, and a reviewer should read them together, top to bottom.
"""

from __future__ import annotations

import errno
import hmac
import json
import secrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from paramart.errors import ParamartError
from paramart.io.runfolder import FINAL, LOSS_PLOT, LOSSES, RUN_JSON, TIMELAPSE_GIF
from paramart.outputs.live import LiveRun
from paramart.runner.preview_settings import is_loopback

#: ports tried after a busy one: preview.port, preview.port + 1, ...
PORT_TRIES = 20
#: the run folder's files the page may link to (nothing else there is served)
RUN_FILES = {FINAL: "image/png", LOSSES: "text/csv; charset=utf-8", LOSS_PLOT: "image/png",
             TIMELAPSE_GIF: "image/gif", RUN_JSON: "application/json"}
#: the longest a finished run's server waits for a watching page to fetch the final state, s
GRACE = 2.0
FINAL = ("done", "stopped", "failed")
CSP = ("default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def count(text: str, default: int = 0) -> int:
    """A non-negative count from a query value: ASCII digits only (``str.isdigit`` also takes
    '²', which ``int`` refuses) and at most 18 of them (``int`` refuses over 4,300); else ``default``."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else default


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    live: LiveRun
    page: bytes
    nonce: str
    token: str | None
    hosts: set[str] | None  # Host headers accepted (loopback); None: any (remote, token-checked)
    run_dir: Path | None
    on_stop: Any
    pages_lock: threading.Lock
    seen: dict[str, float]  # page id -> when it last fetched the state; told: those with the final one
    told: set[str]

    def saw(self, page: str, final: bool) -> None:
        with self.pages_lock:
            self.seen[page] = time.monotonic()
            if final:
                self.told.add(page)

    def waiting(self, window: float) -> bool:
        """Whether a page that fetched the state in the last ``window`` s has not had the final one."""
        now = time.monotonic()
        with self.pages_lock:
            return any(now - at <= window and page not in self.told for page, at in self.seen.items())


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "paramart-preview"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (quiet: the run owns stderr)
        pass

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, method: str) -> None:
        srv = self.server
        if not self.path.startswith("/") or self.path.startswith("//"):
            return self._send(404, b"not found\n", "text/plain")  # absolute-form or scheme-relative targets
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if srv.hosts is not None and self.headers.get("Host", "").lower() not in srv.hosts:
            return self._send(403, b"forbidden: use the address paramart printed\n", "text/plain")
        if srv.token is not None and not hmac.compare_digest(query.get("token", [""])[0], srv.token):
            return self._send(403, b"forbidden: the URL needs the token paramart printed\n", "text/plain")
        path = url.path
        if method == "POST":
            if path != "/stop":
                return self._send(404, b"not found\n", "text/plain")
            if not hmac.compare_digest(self.headers.get("X-Paramart-Stop", ""), srv.nonce):
                return self._send(403, b"forbidden\n", "text/plain")
            srv.on_stop()
            return self._json({"status": "stopping"}, 202)
        if path == "/":
            return self._send(200, srv.page, "text/html; charset=utf-8",
                              {"Content-Security-Policy": CSP.format(nonce=srv.nonce)})
        if path == "/state.json":
            state = srv.live.snapshot(count(query.get("since", ["0"])[0]))
            have = count(query.get("have", ["0"])[0])  # the frame the page shows: told once it has the last one
            srv.saw(query.get("page", [""])[0][:40], state["status"] in FINAL and have >= state["frame"])
            return self._json(state)
        if path == "/frame.png":
            png = srv.live.frame_png()
            return self._send(200, png[1], "image/png") if png else self._send(404, b"no frame yet\n", "text/plain")
        if path.startswith("/input/") and path.endswith(".jpg") and path[7:-4].isdigit():
            i = count(path[7:-4], -1)
            if 0 <= i < len(srv.live.inputs):
                return self._send(200, srv.live.inputs[i][1], "image/jpeg")
        if path.startswith("/files/") and path[7:] in RUN_FILES and srv.run_dir is not None:
            file = srv.run_dir / path[7:]  # a name from the fixed list, never from the request
            if file.is_file() and not file.is_symlink():
                return self._send(200, file.read_bytes(), RUN_FILES[path[7:]])
        return self._send(404, b"not found\n", "text/plain")

    def _json(self, data: Any, code: int = 200) -> None:
        self._send(code, json.dumps(data, allow_nan=False).encode(), "application/json")

    def _send(self, code: int, body: bytes, kind: str, extra: dict[str, str] | None = None) -> None:
        try:
            self.send_response(code)
            headers = {"Content-Type": kind, "Content-Length": str(len(body)), "Cache-Control": "no-store",
                       "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                       "X-Frame-Options": "DENY", **(extra or {})}
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the browser went away: nothing to do
            pass


def reserve(host: str, port: int) -> tuple[ThreadingHTTPServer, str]:
    """Listen on ``port`` (or the next free one) now, before any model loads, so that busy
    ports are one line at once; :class:`PreviewServer` serves on it later (``bound=``)."""
    return _bind(host, int(port))


def _bind(host: str, port: int) -> tuple[_Server, str]:
    """A listening server on ``port`` or the next free one; the note says when it moved."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    tries = [0] if port == 0 else range(port, min(65536, port + PORT_TRIES))
    for p in tries:
        cls = type("_BoundServer", (_Server,), {"address_family": family})
        try:
            server = cls((host.strip("[]"), p), _Handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                continue
            if exc.errno in (errno.EACCES, errno.EPERM):
                raise ParamartError(f"preview.port={port}: not allowed to listen there (ports below 1024 "
                                    "need privileges); use the default 8765 or preview.port=0") from None
            raise ParamartError(f"preview.host={host}: cannot listen there ({exc.strerror or exc}); "
                                "use 127.0.0.1") from None
        got = server.server_address[1]
        note = f"port {port} is in use; " if port and got != port else ""
        return server, note
    last = tries[-1]
    raise ParamartError(f"preview.port={port}: ports {port}-{last} are all in use; pick another with "
                        "preview.port=N, or preview.port=0 for any free port")


class PreviewServer:
    """The preview page of one run, served from daemon threads until :meth:`close`."""

    def __init__(self, live: LiveRun, page: str, *, host: str = "127.0.0.1", port: int = 8765,
                 allow_remote: bool = False, run_dir: Path | None = None, on_stop: Any = None,
                 bound: tuple[ThreadingHTTPServer, str] | None = None):
        loopback = is_loopback(host)
        if not loopback and not allow_remote:
            raise ParamartError(f"preview.host={host} is not loopback; it needs preview.allow_remote=true")
        self.server, self.note = bound if bound is not None else _bind(host, int(port))
        self.port = self.server.server_address[1]
        srv = self.server
        srv.live, srv.run_dir, srv.on_stop = live, run_dir, on_stop or (lambda: None)
        srv.pages_lock, srv.seen, srv.told = threading.Lock(), {}, set()
        srv.nonce = secrets.token_urlsafe(18)
        srv.page = page.replace("__STOP_NONCE__", srv.nonce).encode()
        srv.token = None if loopback else secrets.token_urlsafe(18)
        if host.strip("[]") in ("0.0.0.0", "::", ""):  # every interface: name this machine in the URL
            host = socket.gethostname()
        shown = f"[{host.strip('[]')}]" if ":" in host else host
        srv.hosts = {f"{h}:{self.port}" for h in (shown, "127.0.0.1", "localhost", "[::1]")} if loopback else None
        self.url = f"http://{shown}:{self.port}/" + (f"?token={srv.token}" if srv.token else "")
        self._thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="paramart-preview", daemon=True)
        self._thread.start()
        self._closing = threading.Lock()

    def close(self) -> None:
        """Stop listening and serving (idempotent)."""
        with self._closing:
            if self._thread.is_alive():
                self.server.shutdown()
                self._thread.join(timeout=5)
            self.server.server_close()

    def close_when_told(self, grace: float) -> threading.Thread | None:
        """Close once each page polling lately has had the final state, or after ``grace`` s (at
        most :data:`GRACE`); at once when none is. The wait is a non-daemon thread (returned):
        the run's last writes overlap it and the process exits once it has closed."""
        window = 2 * self.server.live.refresh + 1
        if not self.server.waiting(window):
            self.close()
            return None
        deadline = time.monotonic() + min(grace, GRACE)

        def wait_then_close() -> None:
            try:
                while time.monotonic() < deadline and self.server.waiting(window):
                    time.sleep(0.02)
            finally:
                self.close()

        closer = threading.Thread(target=wait_then_close, name="paramart-preview-close")
        closer.start()
        return closer

    def __enter__(self) -> PreviewServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
