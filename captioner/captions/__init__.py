"""Captions from words: cutting timed words into cues that follow the caption standards
(:mod:`.segment`), checking cues against the rules (:mod:`.lint`), re-flowing cues made
elsewhere (:mod:`.reflow`), and word timing within a cue (:mod:`.timing`)."""
