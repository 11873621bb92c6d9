"""Caption text inside an ASS script: characters that ASS would read as markup."""

from __future__ import annotations


def ass_escape(text: str) -> str:
    # Braces open override blocks and backslashes start escapes (\\N, \\h) in ASS text.
    return text.replace("\\", "\uff3c").replace("{", "\uff5b").replace("}", "\uff5d")
