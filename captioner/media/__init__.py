"""Media in and out: probing a file (:mod:`.probe`), decoding its speech (:mod:`.audio`),
and writing outputs atomically (:mod:`.outputs`)."""
