"""The review page's local server: Starlette on uvicorn, bound to 127.0.0.1, one token for everything.

Security, as Jupyter does it for a notebook server:

- bound to 127.0.0.1 on a free port; a request whose ``Host`` is not that
  address (DNS rebinding) is refused;
- an unguessable token (``secrets.token_urlsafe``) in the page's URL; every
  request must carry it: in the query for the page, its scripts and the videos
  (what a browser fetches by URL), in the ``X-Captioner-Token`` header for the
  API.  Without it every request is refused (403);
- state-changing requests are POSTs of JSON with the token header and, from a
  browser, this page's own ``Origin``: another site can neither read nor drive
  the server;
- the page and the API name clips by number and files by kind (``source``,
  ``output``); no path from a request ever reaches the filesystem, and a path
  with ``..`` in it is refused before routing;
- the page is built with ``textContent`` only, under a Content-Security-Policy
  that allows nothing but this server's own files.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import sys
import threading
import webbrowser
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, unquote

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..errors import CaptionerError, InputError
from ..styles.presets import get_preset
from ..styles.style import preset_font
from .i18n import direction, strings
from .session import Aligner, ClipFiles, Conflict, ReviewClip

STATIC = Path(__file__).with_name("static")
# Every file the page is made of: name in the URL -> (file, media type).  Nothing else is served from disk.
STATIC_FILES = {
    "review.js": ("review.js", "text/javascript; charset=utf-8"),
    "review.css": ("review.css", "text/css; charset=utf-8"),
}
VIDEO_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/mp4", ".webm": "video/webm",
               ".mkv": "video/x-matroska"}
TOKEN_HEADER = "x-captioner-token"
MAX_BODY = 8 << 20
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self'; "
       "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class Review:
    """The clips of one review (one clip, or a batch's queue) and the page's language."""

    def __init__(self, clips: list[ClipFiles], *, ui: str, batch: Path | None = None) -> None:
        strings(ui)  # a bad --ui fails here
        self.ui = ui
        self.batch = batch
        gate = threading.Lock()  # one burn at a time: two encodes on a small machine only slow each other
        aligner = Aligner()  # one alignment model for every clip
        self.clips = [ReviewClip(i, files, burn_gate=gate, ui=ui, aligner=aligner) for i, files in enumerate(clips)]

    def clip(self, index: int) -> ReviewClip:
        if not 0 <= index < len(self.clips):
            raise LookupError(index)
        return self.clips[index]

    def queue(self) -> list[dict]:
        return [{"clip": c.index, "name": c.files.name, "flagged": c.flagged_count(), "reviewed": c.reviewed}
                for c in self.clips]

    def session(self) -> dict:
        return {"ui": self.ui, "dir": direction(self.ui), "strings": strings(self.ui), "batch": self.batch is not None,
                "clips": self.queue()}

    def burning(self) -> bool:
        return any(c.burn_job.state == "running" for c in self.clips)

    def close(self) -> None:
        for clip in self.clips:
            clip.close()


def _refuse(status: int, message: str) -> Response:
    return PlainTextResponse(f"captioner review: {message}\n", status_code=status)


class Guard:
    """ASGI middleware: the host, the token, the method, the origin and the path of every request."""

    def __init__(self, app, *, token: str, port: int) -> None:
        self.app = app
        self.token = token
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self.origins = {f"http://{host}" for host in self.hosts}

    def check(self, scope) -> Response | None:
        headers = Headers(scope=scope)
        if headers.get("host") not in self.hosts:
            return _refuse(403, "unknown host")
        path = scope.get("path", "")
        raw = (scope.get("raw_path") or path.encode()).decode("latin-1")
        if any(".." in seen or "\\" in seen for seen in (path, raw, unquote(raw), unquote(unquote(raw)))):
            return _refuse(404, "no such page")
        if path.startswith("/api/"):
            given = headers.get(TOKEN_HEADER, "")
        else:
            given = (parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token") or [""])[0]
        if not given or not secrets.compare_digest(given.encode(), self.token.encode()):
            return _refuse(403, "this page needs the token: open the URL that `captioner review` printed")
        method = scope.get("method", "GET")
        if method not in ("GET", "HEAD", "POST"):
            return _refuse(405, "method not allowed")
        if method == "POST":
            origin = headers.get("origin")
            if origin is not None and origin not in self.origins:
                return _refuse(403, "cross-origin request refused")
            if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
                return _refuse(403, "cross-site request refused")
            if headers.get("content-type", "").split(";")[0].strip() != "application/json":
                return _refuse(415, "send JSON")
        return None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        refused = self.check(scope)

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                         (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY"),
                         (b"cross-origin-resource-policy", b"same-origin")]
                if not scope["path"].startswith("/media/"):
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        if refused is not None:
            return await refused(scope, receive, send_with_headers)
        await self.app(scope, receive, send_with_headers)


async def _json_body(request: Request):
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise InputError("request too large")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise InputError("request too large")
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InputError("the request is not JSON") from None


def _answer(work: Callable[[], object]):
    async def run():
        try:
            return JSONResponse(await run_in_threadpool(work))
        except LookupError:
            return JSONResponse({"error": "no such clip"}, status_code=404)
        except Conflict as exc:
            return JSONResponse({"error": str(exc), "code": exc.code}, status_code=409)
        except InputError as exc:
            return JSONResponse({"error": str(exc), "code": "bad-request"}, status_code=400)
        except CaptionerError as exc:
            return JSONResponse({"error": str(exc), "code": "failed"}, status_code=500)
    return run()


def create_app(review: Review, *, token: str, port: int) -> Guard:
    """The review page's ASGI app, behind its :class:`Guard`."""

    def page(request: Request) -> Response:
        ui = review.ui
        html = (STATIC / "index.html").read_text(encoding="utf-8")
        # Only fixed, known values go into the HTML: the token is [A-Za-z0-9_-] by construction.
        html = html.replace("{{lang}}", ui).replace("{{dir}}", direction(ui)).replace("{{token}}", token)
        html = html.replace("{{title}}", strings(ui)["app"])
        return Response(html, media_type="text/html; charset=utf-8")

    def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "font":
            # The caption font, so the text boxes show the letters as the burn draws them, offline.
            font = preset_font(review.clips[0].files.settings.resolved_preset() if review.clips else get_preset("tiktok"))
            return FileResponse(font, media_type="font/ttf" if font.suffix.lower() == ".ttf" else "font/otf")
        if name not in STATIC_FILES:
            return _refuse(404, "no such file")
        filename, media_type = STATIC_FILES[name]
        return FileResponse(STATIC / filename, media_type=media_type)

    def media(request: Request) -> Response:
        try:
            clip = review.clip(request.path_params["clip"])
        except LookupError:
            return _refuse(404, "no such clip")
        kind = request.path_params["kind"]
        files = {"source": clip.files.source, "output": clip.files.output}
        if kind not in files or not files[kind].is_file():
            return _refuse(404, "no such video")
        path = files[kind]
        # FileResponse answers Range requests (206, Content-Range): the video seeks without being transcoded.
        return FileResponse(path, media_type=VIDEO_TYPES.get(path.suffix.lower(), "application/octet-stream"))

    async def session(request: Request) -> Response:
        return await _answer(review.session)

    async def queue(request: Request) -> Response:
        return await _answer(review.queue)

    async def document(request: Request) -> Response:
        return await _answer(lambda: review.clip(request.path_params["clip"]).document())

    async def burn_status(request: Request) -> Response:
        return await _answer(lambda: review.clip(request.path_params["clip"]).burn_status())

    def post(action: str):
        async def handler(request: Request) -> Response:
            try:
                payload = await _json_body(request)
            except InputError as exc:
                return JSONResponse({"error": str(exc), "code": "bad-request"}, status_code=400)

            def work():
                clip = review.clip(request.path_params["clip"])
                if action == "check":
                    return {"cues": clip.check(payload)}
                if action == "render":
                    return clip.render(payload)
                if action == "save":
                    return clip.save(payload)
                if action == "reviewed":
                    return clip.set_reviewed(payload)
                if action == "burn":
                    return clip.start_burn(payload)
                raise LookupError(action)

            return await _answer(work)
        return handler

    routes = [
        Route("/", page, methods=["GET", "HEAD"]),
        Route("/static/{name}", static, methods=["GET", "HEAD"]),
        Route("/media/{clip:int}/{kind}", media, methods=["GET", "HEAD"]),
        Route("/api/session", session, methods=["GET"]),
        Route("/api/queue", queue, methods=["GET"]),
        Route("/api/clips/{clip:int}", document, methods=["GET"]),
        Route("/api/clips/{clip:int}/burn", burn_status, methods=["GET"]),
    ] + [Route(f"/api/clips/{{clip:int}}/{action}", post(action), methods=["POST"])
         for action in ("check", "render", "save", "reviewed", "burn")]
    return Guard(Starlette(routes=routes), token=token, port=port)


class _Server(uvicorn.Server):
    """uvicorn, but Ctrl-C and SIGTERM end the serving loop without re-raising: the caller cleans up."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def can_open_browser() -> bool:
    """Whether a graphical browser can open here: on Linux (not macOS, Windows) that needs a display; without one
    Python's webbrowser would start a text browser in the terminal the server prints to."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def serve(review: Review, *, port: int = 0, open_browser: bool = True,
          announce: Callable[[str], None] = print) -> bool:
    """Serve the review page until Ctrl-C (or SIGTERM); return whether a burn had to be stopped.

    ``announce`` gets the page's URL (with its token) once the port is bound.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise InputError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror})") from None
        sock.listen(128)  # connections wait in the backlog until the server loop runs: the URL works once printed
        port = sock.getsockname()[1]
        token = secrets.token_urlsafe(32)
        app = create_app(review, token=token, port=port)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", server_header=False,
                                timeout_graceful_shutdown=2)
        server = _Server(config)
        url = f"http://127.0.0.1:{port}/?token={token}"
        announce(url)
        if open_browser and can_open_browser():
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
        server.run(sockets=[sock])
    finally:
        stopped_burn = review.burning()
        review.close()
        sock.close()
    return stopped_burn
