"""Generated blocks inside hand-written Markdown: a block sits between two HTML comments that
name it, and only the text between them is replaced.

    >>> page = "# Page\\n\\n" + begin("alerts") + "\\nold\\n" + end("alerts") + "\\n\\nProse.\\n"
    >>> print(replace_blocks(page, {"alerts": "| alert |\\n|---|"}, "page.md"), end="")
    # Page
    <BLANKLINE>
    <!-- BEGIN GENERATED alerts: `python -m tools.generate` writes this block; edit its sources -->
    | alert |
    |---|
    <!-- END GENERATED alerts -->
    <BLANKLINE>
    Prose.
"""

from __future__ import annotations

import re
from typing import Mapping

__all__ = ["begin", "end", "replace_blocks", "blocks_in"]


def begin(name: str) -> str:
    return f"<!-- BEGIN GENERATED {name}: `python -m tools.generate` writes this block; edit its sources -->"


def end(name: str) -> str:
    return f"<!-- END GENERATED {name} -->"


def _block(name: str) -> re.Pattern:
    return re.compile(re.escape(begin(name)) + r"\n.*?" + re.escape(end(name)), re.DOTALL)


def blocks_in(text: str) -> list[str]:
    """The names of the generated blocks ``text`` holds, in order."""
    return re.findall(r"<!-- BEGIN GENERATED (\S+):", text)


def replace_blocks(text: str, blocks: Mapping[str, str], where: str) -> str:
    """``text`` with each named block's content replaced; a block missing from ``text`` raises,
    naming ``where`` and the markers to add."""
    for name, content in blocks.items():
        pattern = _block(name)
        if not pattern.search(text):
            raise ValueError(f"{where}: no generated block {name!r}; add the lines {begin(name)!r} and {end(name)!r}")
        text = pattern.sub(lambda _: f"{begin(name)}\n{content.strip(chr(10))}\n{end(name)}", text, count=1)
    return text
