"""A style file is data: nothing it names is imported or run, and nothing it says is trusted.

``font_package`` used to be imported by name, so a ``house.toml`` with
``font_package = "housefont"`` beside a ``housefont.py`` ran that file (``python
-m`` puts the current folder first on ``sys.path``).  Fonts are now found by a
package's installed file list, only for the fontpkg family; any other font is a
``font_file``.  A style file, and the font it names, are files read as such:
capped in size, regular files only.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import make_video, run_cli

SRT = "1\n00:00:00,200 --> 00:00:01,500\nمرحبا بكم\n"
PAYLOAD = "from pathlib import Path\nPath('{marker}').write_text('ran')\n"


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("style") / "clip.mp4", duration=1.5, size=(216, 384))


def workspace(tmp_path: Path, clip: Path) -> Path:
    shutil.copyfile(clip, tmp_path / "clip.mp4")
    (tmp_path / "subs.srt").write_text(SRT, encoding="utf-8")
    return tmp_path


def burn(folder: Path, *extra: str):
    return run_cli("burn", "clip.mp4", "--subs", "subs.srt", "-o", "out.mp4", "--force", "-q", *extra, cwd=folder)


def one_line(result, code: int = 2) -> str:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("captioner: error:") and "Traceback" not in result.stderr
    return lines[0]


def test_a_font_package_named_by_a_style_is_never_imported(tmp_path, clip):
    folder = workspace(tmp_path, clip)
    marker = folder / "RAN"
    (folder / "housefont.py").write_text(PAYLOAD.format(marker=marker))
    (folder / "house.toml").write_text('font_package = "housefont"\n')
    message = one_line(burn(folder, "--style", "house.toml"))
    assert "font_package" in message and "font_file" in message
    assert "pip install" not in message  # never a command with a name the file chose
    assert not marker.exists() and not (folder / "out.mp4").exists()


def test_a_fontpkg_name_in_the_current_folder_is_neither_imported_nor_found(tmp_path, clip):
    """A look-alike package beside the style, with metadata that claims a font anywhere: not installed here."""
    folder = workspace(tmp_path, clip)
    marker = folder / "RAN"
    package = folder / "fontpkg_evil"
    (package / "files").mkdir(parents=True)
    (package / "__init__.py").write_text(PAYLOAD.format(marker=marker))
    dist = folder / "fontpkg_evil-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fontpkg-evil\nVersion: 1.0\n")
    (dist / "RECORD").write_text("fontpkg_evil/files/../../../../etc/passwd.ttf,,\nfontpkg_evil/__init__.py,,\n")
    (folder / "house.toml").write_text('font_package = "fontpkg_evil"\n')
    message = one_line(burn(folder, "--style", "house.toml"))
    assert "not installed" in message and "pip install" not in message
    assert not marker.exists()


def test_the_default_font_is_not_imported_either(tmp_path, clip):
    """A file named like the default font package in the current folder does not run."""
    folder = workspace(tmp_path, clip)
    marker = folder / "RAN"
    (folder / "fontpkg_noto_sans_arabic.py").write_text(PAYLOAD.format(marker=marker))
    result = burn(folder)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()


def test_fonts_are_found_from_installed_metadata():
    from captioner.errors import InputError
    from captioner.styles.fonts import package_font

    assert package_font().name.endswith(".ttf") and package_font().is_file()
    assert package_font("fontpkg-noto-sans-arabic") == package_font()
    for name in ("housefont", "os", "../fontpkg_x", "fontpkg_x; rm -rf /", "", "fontpkg_"):
        with pytest.raises(InputError):
            package_font(name)


@pytest.mark.parametrize("content, words", [
    ('font_file = "missing.ttf"\n', "does not exist"),
    ('font_file = "house.toml"\n', "must be a font file"),
    ('font_file = "/dev/zero.ttf"\n', "does not exist"),
    ('font_file = "fake.ttf"\n', "not a usable font"),
    ("em_px = nan\n", "em_px"),
    ("em_px = inf\n", "em_px"),
    ("max_cps = 1e400\n", "max_cps"),
    ('font_package = 5\n', "font_package"),
    ("x = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ("[table]\n" + "".join(f"k{i} = {i}\n" for i in range(120_000)), "too large"),
    ("description = '\u0000'\n", "not valid TOML"),
], ids=["missing", "not-a-font-name", "device", "fake", "nan", "inf", "huge", "type", "nested", "giant", "control"])
def test_bad_style_files_are_one_line(tmp_path, clip, content, words):
    folder = workspace(tmp_path, clip)
    (folder / "fake.ttf").write_bytes(b"\x00\x01\x00\x00" + b"\x00" * 100)
    (folder / "house.toml").write_text(content, encoding="utf-8")
    message = one_line(burn(folder, "--style", "house.toml"))
    assert words in message, message
    assert not (folder / "out.mp4").exists()


def test_a_font_file_that_is_a_link_to_a_device_is_refused(tmp_path, clip):
    folder = workspace(tmp_path, clip)
    (folder / "zero.ttf").symlink_to("/dev/zero")
    (folder / "house.toml").write_text('font_file = "zero.ttf"\n')
    assert "not a regular file" in one_line(burn(folder, "--style", "house.toml"))
