"""How captions look: platform presets as data (:mod:`.presets`, ``presets.toml``), house styles
over them, the caption font (:mod:`.fonts`), colours (:mod:`.colours`), and a preset resolved
for one frame (:mod:`.style`)."""
