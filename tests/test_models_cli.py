"""The model registry and ``captioner models list / pull``, tested as a user runs them.

``models pull`` is run against a local fake Hugging Face Hub: a small threaded HTTP server in this process
that answers what huggingface_hub's ``snapshot_download`` asks (``/api/models/REPO/revision/REV`` for a
branch, ``/api/models/REPO/tree/COMMIT`` for the file list, ``HEAD``/``GET /REPO/resolve/COMMIT/FILE`` with
``X-Repo-Commit``, ``ETag`` and ``Content-Length``, ``Range`` to resume). The CLI reaches it through
``HF_ENDPOINT``, read when huggingface_hub is imported, so it is set in the child's environment; captioner's
cache (``CAPTIONER_CACHE``) and the Hub client's (``HF_HOME``) are temporary folders. The files served are
the embedded base model's, so nothing is downloaded from the internet.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from captioner.asr import catalog, models
from captioner.styles.presets import tomllib  # tomli on Python 3.10, as the package reads it
from conftest import ROOT, run_ffmpeg

REGISTRY = ROOT / "models" / "registry.toml"
PACKAGED = ROOT / "captioner" / "asr" / "model_registry.toml"
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
SHA256 = re.compile(r"[0-9a-f]{64}")
EMBEDDED_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")
OTHER_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


@pytest.fixture(scope="module")
def embedded() -> Path:
    """The embedded base model folder, found (and assembled if need be) by the package's own function."""
    return models.ensure_embedded_model()


# --- 1. the registry ----------------------------------------------------------------------------------------


def test_packaged_registry_is_a_byte_for_byte_copy():
    assert PACKAGED.read_bytes() == REGISTRY.read_bytes(), (
        "captioner/asr/model_registry.toml differs from models/registry.toml: "
        "cp models/registry.toml captioner/asr/model_registry.toml")
    assert catalog.REGISTRY.resolve() == PACKAGED.resolve()  # the copy is what the package reads
    assert "tests/test_models_cli.py" in REGISTRY.read_text(encoding="utf-8")  # its header names this test


def test_registry_entries_are_complete_and_base_matches_the_embedded_model(embedded):
    raw = tomllib.loads(REGISTRY.read_text(encoding="utf-8"))
    entries = catalog.known_models()
    assert list(entries) == list(raw["models"]) and len(entries) >= 6
    for name, table in raw["models"].items():
        assert catalog.NAME.fullmatch(name), name
        assert table.get("licence", "").strip(), f"{name}: no licence"
        assert table.get("description", "").strip() and catalog.REPO.fullmatch(table["repo"]), name
        names = [f["name"] for f in table["files"]]
        assert "model.bin" in names and len(names) == len(set(names)), name
        for f in table["files"]:
            assert isinstance(f.get("size"), int) or f.get("approx_size"), f"{name} {f['name']}: no size"
            if "sha256" in f:
                assert SHA256.fullmatch(f["sha256"]), f"{name} {f['name']}: {f['sha256']!r} is not a SHA-256"
        if "revision" in table:
            assert re.fullmatch(r"[0-9a-f]{40}", table["revision"]), name
        assert entries[name].approx_size != "unknown", name
    base = entries["base"]
    assert base.embedded and base.revision and base.revision.startswith("ebe41f7")
    files = {f.name: f for f in base.files}
    assert set(files) == set(EMBEDDED_FILES)
    assert files["model.bin"].sha256 == BASE_SHA256 == models.MODEL_BIN_SHA256
    assert files["model.bin"].size == models.MODEL_BIN_SIZE
    # Every file of base in the registry is the file on disk, byte for byte (SHA-256 computed here).
    assert embedded == models.embedded_model_dir()
    for name, spec in files.items():
        path = embedded / name
        assert path.stat().st_size == spec.size, name
        assert sha256_of(path) == spec.sha256, name
    # tiny shares base's tokenizer and vocabulary (the fake Hub below serves base's for them).
    tiny = {f.name: f for f in entries["tiny"].files}
    assert tiny["tokenizer.json"].sha256 == files["tokenizer.json"].sha256
    assert tiny["vocabulary.txt"].sha256 == files["vocabulary.txt"].sha256


def test_models_readme_explains_the_registry():
    text = (ROOT / "models" / "README.md").read_text(encoding="utf-8")
    for needed in ("registry.toml", "model_registry.toml", BASE_SHA256, "Systran/faster-whisper-base",
                   catalog.known_models()["base"].revision, "MIT", "2212.04356"):
        assert needed in text, needed


# --- running the CLI ----------------------------------------------------------------------------------------

_DROPPED = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT", "HF_HOME", "HF_HUB_CACHE", "HF_TOKEN",
            "HF_HUB_ETAG_TIMEOUT", "HF_HUB_DOWNLOAD_TIMEOUT", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME",
            "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def cli(*args: str, cache: Path, endpoint: str, offline: bool = False):
    """``python -m captioner ARGS`` with captioner's and the Hub client's caches in ``cache``, the Hub at
    ``endpoint``; returns the completed process and its wall time."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env.update({models.CACHE_ENV: str(cache), "HF_HOME": str(cache.parent / "hf-home"), "HF_ENDPOINT": endpoint,
                "HF_HUB_DISABLE_TELEMETRY": "1", "PYTHONPATH": os.pathsep.join(
                    p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)})
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "captioner", *args], capture_output=True, text=True, env=env,
                          timeout=180)
    return done, time.monotonic() - start


def error_line(done, model: str, *, started: bool = True) -> str:
    """The one error line of a failed ``models pull MODEL``: no traceback, nothing else on stderr but, once a
    download has ``started``, the ``downloading MODEL (REPO) ...`` progress note before it."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    rest = [line for line in lines if not line.startswith(f"downloading {model} (")]
    assert len(rest) == 1 and rest[0].startswith("captioner: error: "), done.stderr
    assert len(lines) <= (2 if started else 1), done.stderr
    return rest[0]


def with_embedded(cache: Path, embedded: Path) -> Path:
    """A fresh captioner cache that holds the embedded model (a link to the assembled one: no 148 MB copy)."""
    (cache / "models").mkdir(parents=True)
    (cache / "models" / embedded.name).symlink_to(embedded, target_is_directory=True)
    return cache


def leftovers(cache: Path) -> list[str]:
    """What a pull left in captioner's models folder, besides the embedded model's link."""
    folder = cache / "models"
    return sorted(p.name for p in folder.iterdir() if not p.is_symlink()) if folder.exists() else []


# --- 2. models list -----------------------------------------------------------------------------------------


def test_models_list_shows_every_model_and_its_state(tmp_path, embedded):
    cache = with_embedded(tmp_path / "cache", embedded)
    done, _ = cli("models", "list", cache=cache, endpoint="http://127.0.0.1:9")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:3] == ["MODEL", "SIZE", "LICENCE"] and "ON THIS MACHINE" in lines[0]
    known = catalog.known_models()
    rows = {line.split()[0]: line for line in lines[1:1 + len(known)]}  # then the openai-whisper line, the hint
    assert list(rows) == list(known)
    assert rows["base"].endswith("embedded, ready") and "148 MB" in rows["base"]
    for name, entry in known.items():
        assert entry.licence in rows[name] and entry.approx_size in rows[name]
        if name != "base":
            assert rows[name].endswith(f"not here (captioner models pull {name})"), rows[name]
        a = entry.arabic
        for figure in (a.paper_wer_common_voice_9, a.paper_wer_fleurs, a.readme_wer_common_voice_15):
            if figure is not None:
                assert f"{figure:g}%" in rows[name], (name, figure)
    # The Whisper paper's Arabic WER (Common Voice 9 / FLEURS) as the registry gives them.
    assert "84.4% / 48.8%" in rows["base"] and "66.4% / 30.6%" in rows["small"]
    assert "60.3% / 20.4%" in rows["medium"] and "53.8% / 16%" in rows["large-v2"]
    assert "0.61 / 0.21" in rows["base"]  # measured here
    assert "base on openai-whisper: " in done.stdout and "--model /path/to/folder" in done.stdout
    assert not done.stderr.strip()


# --- 3. models pull, against a local fake Hub ---------------------------------------------------------------


class FakeHub:
    """A Hugging Face Hub on 127.0.0.1: repositories of files (bytes or paths), a log of requests, faults."""

    def __init__(self):
        self.repos: dict[str, dict] = {}
        self.log: list[tuple[str, str, str]] = []  # (method, path, Range header)
        self.drop: dict[str, str] = {}  # file name -> "once" (cut mid-file, then serve) | "always" (then refuse)
        self.lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                hub.answer(self, head=True)

            def do_GET(self):
                hub.answer(self, head=False)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, repo: str, commit: str, files: dict, branch: str = "main"):
        served = {}
        for name, content in files.items():
            if isinstance(content, Path):
                size = content.stat().st_size
                known = {f.name: f.sha256 for m in catalog.known_models().values() for f in m.files if f.sha256
                         and f.size == size}
                sha = known.get(name) or sha256_of(content)
            else:
                size, sha = len(content), hashlib.sha256(content).hexdigest()
            served[name] = (content, size, sha)
        self.repos[repo] = {"commit": commit, "branch": branch, "files": served}

    def reset(self):
        self.repos.clear()
        self.log.clear()
        self.drop.clear()

    def requests(self, method: str | None = None, suffix: str = "") -> list[tuple[str, str, str]]:
        with self.lock:
            return [r for r in self.log if (method is None or r[0] == method) and r[1].endswith(suffix)]

    # -- the answers

    def _json(self, req, status: int, body, error: str | None = None):
        data = json.dumps(body).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(data)))
        if error:
            req.send_header("X-Error-Code", error)
            req.send_header("X-Error-Message", error)
        req.end_headers()
        req.wfile.write(data)

    def _repo(self, repo: str, revision: str):
        found = self.repos.get(repo)
        if found is None:
            return None, "RepoNotFound"
        if revision not in (found["commit"], found["branch"]):
            return None, "RevisionNotFound"
        return found, None

    def answer(self, req, head: bool):
        path = unquote(urlsplit(req.path).path)
        with self.lock:
            self.log.append(("HEAD" if head else "GET", path, req.headers.get("Range", "")))
        api = re.fullmatch(r"/api/models/([^/]+/[^/]+)/(revision|tree)/([^/]+)", path)
        resolve = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if api and not head:
            repo, found_error = self._repo(api.group(1), api.group(3))
            if repo is None:
                return self._json(req, 404, {"error": found_error}, found_error)
            files = repo["files"]
            if api.group(2) == "revision":
                return self._json(req, 200, {"id": api.group(1), "sha": repo["commit"], "private": False,
                                             "siblings": [{"rfilename": n} for n in files]})
            tree = []
            for name, (_, size, sha) in files.items():
                item = {"type": "file", "path": name, "size": size, "oid": hashlib.sha1(sha.encode()).hexdigest()}
                if size > 10_000_000:  # large files are Git LFS objects on the Hub
                    item["lfs"] = {"oid": sha, "size": size, "pointerSize": 134}
                tree.append(item)
            return self._json(req, 200, tree)
        if not resolve:
            return self._json(req, 404, {"error": "not found"}, "EntryNotFound")
        repo, found_error = self._repo(resolve.group(1), resolve.group(2))
        if repo is None or resolve.group(3) not in repo["files"]:
            return self._json(req, 404, {"error": found_error or "EntryNotFound"}, found_error or "EntryNotFound")
        name = resolve.group(3)
        content, size, sha = repo["files"][name]
        start = 0
        ranged = re.fullmatch(r"bytes=(\d+)-", req.headers.get("Range", "") or "")
        fault = None if head else self.drop.get(name)
        if fault == "refuse":  # the network is gone: close without an answer
            req.close_connection = True
            return
        if ranged and not head:
            start = int(ranged.group(1))
            req.send_response(206)
            req.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        else:
            req.send_response(200)
        req.send_header("Content-Length", str(size - start))
        req.send_header("ETag", f'"{sha}"')
        req.send_header("X-Repo-Commit", repo["commit"])
        req.send_header("Content-Type", "application/octet-stream")
        req.end_headers()
        if head:
            return
        stop = size
        if fault in ("once", "always") and start == 0:
            stop = size // 2  # cut in the middle of the file
            self.drop[name] = "refuse" if fault == "always" else "served"
        try:
            self._send(req, content, start, stop)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if stop < size:
            req.close_connection = True

    @staticmethod
    def _send(req, content, start: int, stop: int):
        if isinstance(content, Path):
            with open(content, "rb") as fh:
                fh.seek(start)
                left = stop - start
                while left > 0 and (block := fh.read(min(left, 1 << 20))):
                    req.wfile.write(block)
                    left -= len(block)
        else:
            view = memoryview(content)[start:stop]
            for at in range(0, len(view), 1 << 20):
                req.wfile.write(view[at:at + (1 << 20)])

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def hub_server():
    server = FakeHub()
    yield server
    server.close()


@pytest.fixture
def hub(hub_server):
    hub_server.reset()
    yield hub_server
    hub_server.reset()


def embedded_files(embedded: Path) -> dict:
    return {name: embedded / name for name in EMBEDDED_FILES}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# a. a repository the registry does not know: pulled, its files said to be unchecked, used offline


def test_pull_a_repository_not_in_the_registry_then_transcribe_offline(tmp_path, hub, embedded, monkeypatch):
    files = {**embedded_files(embedded), "README.md": b"# not a model file\n", ".gitattributes": b"*.bin lfs\n"}
    hub.add("someone/faster-whisper-base", OTHER_COMMIT, files)
    cache = with_embedded(tmp_path / "cache", embedded)
    done, _ = cli("models", "pull", "someone/faster-whisper-base", cache=cache, endpoint=hub.url)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("downloading someone/faster-whisper-base"), done.stderr  # no noise
    line = lines[-1]
    folder = cache / "models" / "someone--faster-whisper-base"
    assert line.startswith(f"pulled someone/faster-whisper-base into {folder} ("), line
    assert "not in the registry, not checked: config.json, model.bin, tokenizer.json, vocabulary.txt" in line
    assert "use it with --model someone/faster-whisper-base" in line
    assert sha256_of(folder / "model.bin") == BASE_SHA256
    assert sorted(p.name for p in folder.iterdir()) == sorted([*EMBEDDED_FILES, "captioner-pulled.json"])
    assert leftovers(cache) == ["someone--faster-whisper-base"]  # no staging folder
    assert hub.requests("GET", "/api/models/someone/faster-whisper-base/revision/main")
    assert not hub.requests(suffix="README.md")  # only a model's files are fetched

    # --model REPO now loads the pulled folder, with downloads switched off: a real transcription.
    hub.log.clear()
    clip = tmp_path / "clip.wav"
    run_ffmpeg("-i", str(ROOT / "samples" / "createforgood-ar.mp4"), "-t", "3", "-vn", "-ac", "1", "-ar", "16000",
               str(clip))
    srt = tmp_path / "out.srt"
    done, _ = cli("transcribe", "-q", str(clip), "-o", str(srt), "--model", "someone/faster-whisper-base",
                  cache=cache, endpoint=hub.url, offline=True)
    assert done.returncode == 0, done.stderr
    assert "مرحب" in srt.read_text(encoding="utf-8")  # "مرحبا بكم" opens the sample
    assert hub.log == []
    assert not any((tmp_path / "hf-home").rglob("model.bin"))  # not from the Hub client's cache either

    monkeypatch.setenv(models.CACHE_ENV, str(cache))
    assert models.resolve_model("someone/faster-whisper-base") == str(folder)


# A registry repository: every file checked against the registry's SHA-256, at the registry's revision; a
# connection cut in the middle of model.bin is resumed by the Hub client and the file still verifies.


def test_pull_a_registry_repository_checks_every_file(tmp_path, hub, embedded):
    base = catalog.known_models()["base"]
    hub.add(base.repo, base.revision, embedded_files(embedded), branch="some-other-branch")
    hub.drop["model.bin"] = "once"
    cache = tmp_path / "cache"
    done, _ = cli("models", "pull", base.repo, cache=cache, endpoint=hub.url)
    assert done.returncode == 0, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert "SHA-256 checked: model.bin, config.json, tokenizer.json, vocabulary.txt" in line, line
    assert "not checked" not in line and "Traceback" not in done.stderr
    assert hub.requests("GET", f"/resolve/{base.revision}/model.bin")[-1][2].startswith("bytes=")  # resumed
    assert not hub.requests(suffix="/revision/main")  # the registry's revision, not the main branch
    folder = models.pulled_dir(base.repo).relative_to(models.cache_root())
    assert sha256_of(cache / folder / "model.bin") == BASE_SHA256
    stamp = json.loads((cache / folder / "captioner-pulled.json").read_text())
    assert stamp["revision"] == base.revision and stamp["files"]["model.bin"]["sha256"] == BASE_SHA256


def test_a_registry_model_pulled_by_repository_is_the_same_as_by_name():
    for entry in catalog.known_models().values():
        assert models.pulled_dir(entry.repo) == models.pulled_dir(entry.name), entry.name


# b. a registry model whose model.bin does not verify: one line naming the file, nothing kept


@pytest.mark.parametrize("wrong", ["size", "content"])
def test_pull_refuses_a_model_bin_that_does_not_verify(tmp_path, hub, embedded, wrong):
    tiny = catalog.known_models()["tiny"]
    size = next(f.size for f in tiny.files if f.name == "model.bin")
    files = embedded_files(embedded)
    if wrong == "content":
        files["model.bin"] = bytes(size)  # the registry's size, not its bytes
    hub.add(tiny.repo, tiny.revision, files)
    cache = with_embedded(tmp_path / "cache", embedded)
    done, _ = cli("models", "pull", "tiny", cache=cache, endpoint=hub.url)
    assert done.returncode == 1, done.stderr
    line = error_line(done, "tiny")
    assert "model 'tiny': model.bin " in line and "nothing was kept" in line, line
    if wrong == "size":
        assert f"has {models.MODEL_BIN_SIZE} bytes, the registry says {size}" in line
    else:
        assert "does not verify" in line and "SHA-256" in line
    assert hub.requests("GET", f"/resolve/{tiny.revision}/model.bin")  # it was downloaded, then refused
    assert leftovers(cache) == []


# c. the connection drops in the middle of model.bin and does not come back


def test_pull_interrupted_download_keeps_nothing(tmp_path, hub, embedded):
    tiny = catalog.known_models()["tiny"]
    hub.add(tiny.repo, tiny.revision, embedded_files(embedded))
    hub.drop["model.bin"] = "always"
    cache = with_embedded(tmp_path / "cache", embedded)
    done, _ = cli("models", "pull", "tiny", cache=cache, endpoint=hub.url)
    assert done.returncode == 1, done.stderr
    line = error_line(done, "tiny")
    assert line.startswith("captioner: error: cannot download model 'tiny' (Systran/faster-whisper-tiny): "
                           f"the download from the Hugging Face Hub ({hub.url}) broke off"), line
    assert "'captioner models pull tiny'" in line and "--model /path/to/ctranslate2-folder" in line
    assert len(hub.requests("GET", "/model.bin")) >= 2  # cut, then the client's resumes found nobody
    assert leftovers(cache) == []
    assert not [p for p in (tmp_path / "hf-home").rglob("*") if p.is_file() and p.stat().st_size > 1_000_000]


# A repository the Hub does not have (bad input: exit 2), a registry revision it does not have (exit 1).


@pytest.mark.parametrize("missing", ["repository", "revision"])
def test_pull_what_the_hub_does_not_have(tmp_path, hub, embedded, missing):
    tiny = catalog.known_models()["tiny"]
    hub.add(tiny.repo, OTHER_COMMIT, embedded_files(embedded))  # not the registry's revision
    name, repo = ("someone/no-such-repo", "someone/no-such-repo") if missing == "repository" else ("tiny", tiny.repo)
    cache = tmp_path / "cache"
    done, _ = cli("models", "pull", name, cache=cache, endpoint=hub.url)
    line = error_line(done, name)
    assert line.startswith(f"captioner: error: cannot download model {name!r} ({repo}): the Hugging Face Hub "
                           f"({hub.url}) has no "), line
    if missing == "repository":
        assert done.returncode == 2 and f"has no repository {repo}, or it is private" in line, line
        assert "'captioner models list' shows the models captioner knows" in line
    else:
        assert done.returncode == 1 and f"has no such revision of {repo}" in line, line
        assert hub.requests(suffix=f"/tree/{tiny.revision}")  # asked for the registry's revision
    assert not hub.requests("GET", "/model.bin") and leftovers(cache) == []


# d. no Hub: switched off, or nothing listening; one line, in seconds, saying how to do without


@pytest.mark.parametrize("how", ["HF_HUB_OFFLINE", "closed port"])
def test_pull_without_a_hub_fails_fast_in_one_line(tmp_path, how):
    cache = tmp_path / "cache"
    offline = how == "HF_HUB_OFFLINE"
    done, seconds = cli("models", "pull", "small", cache=cache, endpoint=f"http://127.0.0.1:{closed_port()}",
                        offline=offline)
    assert done.returncode == 1, done.stderr
    line = error_line(done, "small", started=False)
    assert line.startswith("captioner: error: cannot download model 'small' (Systran/faster-whisper-small): "), line
    assert ("HF_HUB_OFFLINE" if offline else "no connection to the Hugging Face Hub (http://127.0.0.1:") in line
    assert "'captioner models pull small'" in line and "--model /path/to/ctranslate2-folder" in line
    # The Hub client alone retries for about 25 s; captioner checks first (the bound is loose: a shared machine).
    assert seconds < 15, seconds
    assert leftovers(cache) == []


# e. a name that is neither in the registry nor a repository


def test_pull_unknown_name_is_bad_input(tmp_path, hub):
    done, _ = cli("models", "pull", "nosuchmodel", cache=tmp_path / "cache", endpoint=hub.url)
    assert done.returncode == 2, done.stderr
    line = error_line(done, "nosuchmodel", started=False)
    assert "unknown model 'nosuchmodel'" in line
    assert re.search(r"known: " + ", ".join(map(re.escape, catalog.known_models())), line), line
    assert hub.log == [] and leftovers(tmp_path / "cache") == []


# f. base is embedded


def test_pull_base_downloads_nothing(tmp_path, hub, embedded):
    cache = with_embedded(tmp_path / "cache", embedded)
    done, _ = cli("models", "pull", "base", cache=cache, endpoint=hub.url)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == f"base is embedded: nothing to download ({cache / 'models' / embedded.name})"
    assert hub.log == [] and leftovers(cache) == []


# g. pulled once; again without --force is "already pulled"; a model.bin changed since is pulled again


def test_pull_again_and_after_the_model_changed(tmp_path, hub, embedded, monkeypatch):
    hub.add("someone/faster-whisper-base", OTHER_COMMIT, embedded_files(embedded))
    cache = tmp_path / "cache"
    repo = "someone/faster-whisper-base"
    folder = cache / "models" / "someone--faster-whisper-base"
    done, _ = cli("models", "pull", repo, cache=cache, endpoint=hub.url)
    assert done.returncode == 0 and "pulled someone/faster-whisper-base into" in done.stderr, done.stderr
    assert len(hub.requests("GET", "/model.bin")) == 1

    done, _ = cli("models", "pull", repo, cache=cache, endpoint=hub.url)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == f"already pulled: {folder} (--force downloads it again)"
    assert len(hub.requests("GET", "/model.bin")) == 1  # nothing downloaded

    st = (folder / "model.bin").stat()
    os.utime(folder / "model.bin", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # rewritten since it was pulled
    done, _ = cli("models", "pull", repo, cache=cache, endpoint=hub.url)
    assert done.returncode == 0, done.stderr
    assert "already pulled" not in done.stderr and "pulled someone/faster-whisper-base into" in done.stderr
    assert len(hub.requests("GET", "/model.bin")) == 2

    monkeypatch.setenv(models.CACHE_ENV, str(cache))
    assert models.resolve_model(repo) == str(folder)
    with open(folder / "model.bin", "r+b") as fh:  # truncated since: no longer a model for --model
        fh.truncate(1000)
    assert models.pulled_model(repo) is None
    assert models.resolve_model(repo) == repo  # a name again, for the Hub client, not a broken folder
