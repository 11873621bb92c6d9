"""The renderers captioner knows, by name: each draws cues into a video in one encode.

A renderer is a :class:`Renderer` subclass registered with
:func:`register_renderer`; ``--renderer`` choices and the pipeline read this
registry, so adding one is adding its module (and importing it in
:mod:`captioner.render`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

from ..cues import Cue
from ..errors import InputError
from ..media.probe import MediaInfo
from .compose import Composition
from .ffmpeg import EncoderSettings

RENDERERS: dict[str, "Renderer"] = {}


class Renderer:
    """Draws cues over a video and encodes it, copying the audio."""

    name: ClassVar[str]

    def check_available(self, shaping: str) -> None:
        """Raise before any work when this renderer cannot run here (a missing extra, a shaping it lacks)."""

    def check_layout(self, layout: Composition, *, highlight: bool) -> None:
        """Raise before any slow work when the layout asks for something this renderer does not draw."""

    def burn(
        self,
        info: MediaInfo,
        cues: Sequence[Cue],
        layout: Composition,
        output: Path,
        *,
        highlight: bool,
        shaping: str,
        encoder: EncoderSettings,
        progress: Callable[[float], None] | None,
    ) -> None:
        raise NotImplementedError


def register_renderer(cls: type[Renderer]) -> type[Renderer]:
    RENDERERS[cls.name] = cls()
    return cls


def renderers() -> tuple[str, ...]:
    return tuple(RENDERERS)


def get_renderer(name: str) -> Renderer:
    try:
        return RENDERERS[name]
    except KeyError:
        raise InputError(f"unknown renderer {name!r} (use one of: {', '.join(RENDERERS)})") from None
