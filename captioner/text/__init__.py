"""Text hygiene for captions: Arabic punctuation and spacing (:mod:`.arabic`),
bidirectional text (:mod:`.bidi`), and the normaliser that scores recognition (:mod:`.scoring`).

Text is kept in logical order everywhere in captioner.  Shaping and reordering
are the renderer's job (libass + HarfBuzz + FriBiDi); the only visual-order
help captioner adds is directional marks in SRT/VTT sidecars.
"""
