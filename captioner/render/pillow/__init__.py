"""The pillow renderer: cues drawn with Pillow (:mod:`.draw`) on the libass layout, composited
with moviepy (:mod:`.composite`).  Needs the ``moviepy`` extra; :mod:`captioner.moviepy` is its
public face for moviepy users."""
