"""The preview server on its own: only its routes and the run's listed files, loopback by
default, a token for other hosts, a nonce for Stop, the next free port, and gone after close."""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time

import pytest
import torch
from PIL import Image

import paramart
from paramart.errors import ParamartError
from paramart.outputs import preview
from paramart.outputs.live import LiveRun
from paramart.outputs.preview import PreviewServer
from paramart.outputs.watch import render_page, settings
from paramart.runner.preview_settings import check_preview


def _live(tmp_path) -> LiveRun:
    cfg = paramart.compose(["size=32", "steps=4"])
    live = LiveRun(total=4, settings=settings(cfg), inputs=[("content", Image.new("RGB", (40, 30), "red"))],
                   out_dir=str(tmp_path))
    live.start(0)
    live.frame(0, torch.rand(1, 3, 24, 32))
    live.progress(2, 3.5, {"content": 1.0, "style": 2.5}, 0.4)
    return live


def _server(tmp_path, **kw) -> tuple[PreviewServer, list[str]]:
    live = _live(tmp_path)
    calls: list[str] = []
    cfg = paramart.compose(["size=32", "steps=4"])
    srv = PreviewServer(live, render_page(live, cfg, "test"), port=0, run_dir=tmp_path,
                        on_stop=lambda: calls.append("stop"), **kw)
    return srv, calls


def _get(srv: PreviewServer, path: str, method: str = "GET", headers: dict | None = None,
         host: str = "127.0.0.1") -> tuple[int, bytes]:
    """A raw request: http.client sends ``path`` as given (no normalising of ``..``)."""
    conn = http.client.HTTPConnection(host, srv.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in {"Host": f"127.0.0.1:{srv.port}", **(headers or {})}.items():
            conn.putheader(k, v)
        conn.endheaders()
        res = conn.getresponse()
        return res.status, res.read()
    finally:
        conn.close()


def test_serves_only_its_routes_and_listed_run_files(tmp_path):
    (tmp_path / "losses.csv").write_text("step,total\n")
    (tmp_path / "checkpoint.pt").write_bytes(b"secret")
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "config.yaml").write_text("secret: 1\n")
    outside = tmp_path.parent / "outside.txt"
    outside.write_text("secret")
    (tmp_path / "final.png").symlink_to(outside)  # a listed name, but a link out of the folder
    srv, _ = _server(tmp_path)
    with srv:
        status, page = _get(srv, "/")
        assert status == 200 and b"Stop and save" in page
        assert _get(srv, "/state.json")[0] == 200
        status, png = _get(srv, "/frame.png?v=1")
        assert status == 200 and png.startswith(b"\x89PNG")
        assert _get(srv, "/input/0.jpg")[0] == 200
        assert _get(srv, "/files/losses.csv") == (200, b"step,total\n")
        for path in ["/../../../etc/passwd", "/files/../../../../etc/passwd", "/files/%2e%2e/%2e%2e/etc/passwd",
                     "/files/..%2f..%2fetc%2fpasswd", "/etc/passwd", "//etc/passwd", "/files//etc/passwd",
                     f"/files/{tmp_path}/losses.csv", f"http://127.0.0.1:{srv.port}/etc/passwd",
                     "/files/", "/files", "/input/", "/input/1.jpg", "/input/../state.json",
                     "/files/checkpoint.pt", "/files/.hydra/config.yaml", "/files/final.png", "/.hydra/",
                     "/state.json/../files/checkpoint.pt"]:
            status, body = _get(srv, path)
            assert status == 404, path
            assert b"secret" not in body and b"root:" not in body


def test_host_header_and_stop_nonce(tmp_path):
    srv, calls = _server(tmp_path)
    with srv:
        # a page elsewhere reaching 127.0.0.1 through DNS rebinding names its own host
        assert _get(srv, "/", headers={"Host": f"evil.example:{srv.port}"})[0] == 403
        assert _get(srv, "/stop", "POST")[0] == 403  # what a form on another site could send
        assert _get(srv, "/stop", "POST", {"X-Paramart-Stop": "guess"})[0] == 403
        assert calls == []
        nonce = re.search(rb'name="paramart-stop" content="([^"]+)"', _get(srv, "/")[1]).group(1).decode()
        assert _get(srv, "/stop", "POST", {"X-Paramart-Stop": nonce})[0] == 202
        assert calls == ["stop"]
        assert _get(srv, "/", headers={"Host": f"localhost:{srv.port}"})[0] == 200


def test_other_hosts_need_the_key_and_then_a_token(tmp_path):
    cfg = paramart.compose(["preview.enabled=true", "preview.host=0.0.0.0"])
    with pytest.raises(ParamartError, match=r"preview.host=0.0.0.0 is not loopback.*allow_remote=true"):
        check_preview(cfg.preview)
    check_preview(paramart.compose(["preview.enabled=true", "preview.host=localhost"]).preview)
    live = _live(tmp_path)
    with pytest.raises(ParamartError, match="not loopback"):
        PreviewServer(live, "page", host="0.0.0.0", port=0)
    srv, _ = _server(tmp_path, host="0.0.0.0", allow_remote=True)
    with srv:
        token = re.search(r"\?token=([\w-]+)$", srv.url).group(1)
        assert len(token) >= 20
        assert _get(srv, "/")[0] == 403
        assert _get(srv, "/state.json?token=wrong")[0] == 403
        assert _get(srv, f"/?token={token}", headers={"Host": f"example.org:{srv.port}"})[0] == 200
        assert _get(srv, f"/state.json?token={token}")[0] == 200


def test_busy_port_moves_to_the_next_and_says_so(tmp_path, monkeypatch):
    with socket.socket() as a, socket.socket() as b:
        a.bind(("127.0.0.1", 0))
        a.listen()
        port = a.getsockname()[1]
        live = _live(tmp_path)
        try:
            srv = PreviewServer(live, "page", port=port)
        except ParamartError:
            pytest.skip("the ports after a free one are taken on this machine")
        with srv:
            assert srv.port > port and srv.note == f"port {port} is in use; "
            assert srv.url == f"http://127.0.0.1:{srv.port}/"
        monkeypatch.setattr(preview, "PORT_TRIES", 1)
        with pytest.raises(ParamartError, match=rf"^preview.port={port}: ports {port}-{port} are all in use"):
            PreviewServer(live, "page", port=port)
        del b


def test_closed_server_refuses_connections(tmp_path):
    srv, _ = _server(tmp_path)
    port = srv.port
    srv.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    srv.close()  # idempotent


@pytest.mark.parametrize("status", ["done", "stopped", "failed"])
def test_watch_serves_from_the_first_stage_until_the_run_ends(tmp_path, status):
    from paramart.outputs.watch import Watch
    from paramart.runner.events import Progress, StageInfo
    from paramart.runner.plan import make_plan

    plan = make_plan(paramart.compose(["size=32", "steps=4", "preview.enabled=true", "preview.port=0"]))
    watch = Watch(plan, tmp_path)
    assert watch.active and watch.server is None  # the port is held from here; the page is served from stage 1
    watch.on_stage(StageInfo(0, 1, (21, 32), 0, 4, ("content", "style")))
    watch.on_frame(0, torch.rand(1, 3, 21, 32))
    watch.on_log(Progress(2, 3.0, {"content": 1.0, "style": 2.0}, 0.5))
    port = watch.server.port
    assert _get(watch.server, "/frame.png")[0] == 200
    watch.on_end(status)  # the run calls this however it ends, a crash included
    assert watch.live.snapshot()["status"] == status
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def _poll(srv: PreviewServer, page: str, seen: list[str], every: float = 0.2) -> threading.Thread:
    """What the page does: fetch the state every ``every`` s; on a final one, fetch the last frame,
    then the state once more saying it has that frame (``have``); stop there, or when the server is gone."""
    def run():
        have = 0
        while True:
            try:
                state = json.loads(_get(srv, f"/state.json?page={page}&have={have}")[1])
                seen.append(state["status"])
                if seen[-1] in ("done", "stopped", "failed"):
                    assert _get(srv, f"/frame.png?v={state['frame']}")[0] == 200
                    _get(srv, f"/state.json?page={page}&have={state['frame']}")
                    return
            except OSError:
                return
            have = state["frame"]
            time.sleep(every)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("status", ["done", "stopped", "failed"])
def test_a_watching_page_fetches_the_final_state_then_the_server_stops(tmp_path, status):
    srv, _ = _server(tmp_path)
    seen: list[str] = []
    poller = _poll(srv, "p1", seen)
    while not seen:
        time.sleep(0.02)
    srv.server.live.frame(3, torch.rand(1, 3, 24, 32))  # the last frame, newer than the page has
    srv.server.live.finish(status)
    t0 = time.monotonic()
    closer = srv.close_when_told(grace=1.5)
    assert closer is not None  # a page is watching: it gets its next refresh
    closer.join(timeout=10)
    poller.join(timeout=10)
    assert seen[-1] == status and time.monotonic() - t0 < 1.5  # told well before the grace ran out
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=5).close()


def test_without_a_watching_page_the_server_stops_at_once_and_a_silent_one_is_not_waited_for_long(tmp_path):
    srv, _ = _server(tmp_path)
    srv.server.live.finish("done")
    assert srv.close_when_told(grace=1.5) is None  # nobody watching: closed now, the run's exit not delayed
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=5).close()
    srv, _ = _server(tmp_path)
    assert _get(srv, "/state.json?page=gone")[0] == 200  # a page that then stops asking (a closed tab)
    srv.server.live.finish("done")
    assert _get(srv, "/state.json?page=gone&have=0")[0] == 200  # the final state, not yet its last frame
    assert srv.server.waiting(10)
    t0 = time.monotonic()
    closer = srv.close_when_told(grace=60)
    closer.join(timeout=10)
    assert not closer.is_alive() and time.monotonic() - t0 < preview.GRACE + 1  # capped: it still stops
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=5).close()
