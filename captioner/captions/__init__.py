"""Captions from words: which recognised words need a human look and which must not be burned
(:mod:`.flags`), cutting timed words into cues that follow the caption standards (:mod:`.segment`),
checking cues against the rules (:mod:`.lint`), re-flowing cues made elsewhere (:mod:`.reflow`),
and word timing within a cue (:mod:`.timing`)."""
