"""The embedded model: assembled from two PyPI packages, verified, rebuilt when damaged."""

from __future__ import annotations

import os

import pytest

from captioner.asr import models


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_assembles_and_verifies(cache):
    folder = models.ensure_embedded_model()
    assert folder.is_relative_to(cache)
    assert (folder / "model.bin").stat().st_size == models.MODEL_BIN_SIZE
    assert models._sha256(folder / "model.bin") == models.MODEL_BIN_SHA256
    for name in models.MODEL_FILES:
        assert (folder / name).is_file()
    status = models.model_status()
    assert status.assembled and status.checksum_ok
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".assembling")]


def test_truncated_cache_is_rebuilt(cache):
    folder = models.ensure_embedded_model()
    with open(folder / "model.bin", "r+b") as fh:
        fh.truncate(1000)
    assert not models._is_complete(folder)
    assert models.ensure_embedded_model() == folder
    assert models._sha256(folder / "model.bin") == models.MODEL_BIN_SHA256


def test_partial_assembly_is_rebuilt(cache):
    folder = models.ensure_embedded_model()
    (folder / models._STAMP).unlink()  # as if interrupted before the stamp was written
    (folder / "tokenizer.json").unlink()
    models.ensure_embedded_model()
    assert (folder / "tokenizer.json").is_file() and models._is_complete(folder)


def test_silent_corruption_is_caught_by_doctor(cache):
    folder = models.ensure_embedded_model()
    path = folder / "model.bin"
    st = path.stat()
    with open(path, "r+b") as fh:
        fh.seek(1234)
        byte = fh.read(1)
        fh.seek(1234)
        fh.write(bytes([byte[0] ^ 0xFF]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime
    assert not models.model_status().checksum_ok
    from captioner.doctor import check_model

    check = check_model()  # doctor rebuilds it
    assert check.ok, check.detail


def test_model_names_and_folders(tmp_path, cache):
    assert models.resolve_model("large-v3") == "large-v3"  # downloaded by faster-whisper where online
    assert models.resolve_model("Systran/faster-whisper-small") == "Systran/faster-whisper-small"
    from captioner.errors import InputError

    with pytest.raises(InputError, match="no CTranslate2 model.bin"):
        models.resolve_model(str(tmp_path))
    assert models.resolve_model(str(models.ensure_embedded_model())) == str(models.embedded_model_dir())
