"""captioner's version: part of every batch fingerprint, so a new version redoes a campaign."""

__version__ = "0.1.0"
