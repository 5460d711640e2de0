"""Structural checks for Grafana Alloy and LogQL text, for tests that have neither binary.

No Loki or Alloy binary can be installed here, so these helpers check what can be checked from
the text alone: balanced delimiters, the component graph of an Alloy file, the labels a pipeline
promotes, and the label names a LogQL expression uses.

    >>> blocks = parse_alloy('loki.write "out" { endpoint { url = "http://x" } }')
    >>> (blocks[0].kind, blocks[0].label)
    ('loki.write', 'out')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["AlloyBlock", "Token", "tokenize_alloy", "parse_alloy", "check_balanced", "logql_parts"]

_OPEN_TO_CLOSE = {"{": "}", "[": "]", "(": ")"}


@dataclass(frozen=True)
class Token:
    kind: str  # "ident" (dotted names included), "string", "number" or "punct"
    text: str
    line: int


@dataclass
class AlloyBlock:
    kind: str  # e.g. "loki.process"
    label: str | None
    line: int
    tokens: list[Token] = field(default_factory=list)  # the body, without the outer braces


def tokenize_alloy(text: str) -> list[Token]:
    """Tokens of Alloy syntax; comments dropped, strings kept whole (escapes honoured)."""
    tokens: list[Token] = []
    i, line, n = 0, 1, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else n
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise ValueError(f"line {line}: unterminated /* comment")
            line += text.count("\n", i, end)
            i = end + 2
        elif c in "\"`":
            j = i + 1
            while j < n and text[j] != c:
                if text[j] == "\\" and c == '"':
                    j += 1
                if text[j] == "\n":
                    raise ValueError(f"line {line}: string not closed before the end of the line")
                j += 1
            if j >= n:
                raise ValueError(f"line {line}: unterminated string")
            tokens.append(Token("string", text[i + 1:j], line))
            i = j + 1
        elif c.isalpha() or c == "_":
            m = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*").match(text, i)
            tokens.append(Token("ident", m.group(0), line))
            i = m.end()
        elif c.isdigit():
            m = re.compile(r"[0-9][0-9.eE_]*").match(text, i)
            tokens.append(Token("number", m.group(0), line))
            i = m.end()
        else:
            tokens.append(Token("punct", c, line))
            i += 1
    return tokens


def check_balanced(tokens: list[Token]) -> None:
    """Raise ValueError naming the line of the first unbalanced brace, bracket or parenthesis."""
    stack: list[Token] = []
    for token in tokens:
        if token.kind != "punct":
            continue
        if token.text in _OPEN_TO_CLOSE:
            stack.append(token)
        elif token.text in _OPEN_TO_CLOSE.values():
            if not stack or _OPEN_TO_CLOSE[stack[-1].text] != token.text:
                raise ValueError(f"line {token.line}: unexpected {token.text!r}")
            stack.pop()
    if stack:
        raise ValueError(f"line {stack[-1].line}: {stack[-1].text!r} never closed")


def parse_alloy(text: str) -> list[AlloyBlock]:
    """Top-level blocks (components and config blocks) of an Alloy file, with their bodies."""
    tokens = tokenize_alloy(text)
    check_balanced(tokens)
    blocks: list[AlloyBlock] = []
    i = 0
    while i < len(tokens):
        head = tokens[i]
        if head.kind != "ident":
            raise ValueError(f"line {head.line}: expected a block name at the top level, got {head.text!r}")
        label = None
        j = i + 1
        if j < len(tokens) and tokens[j].kind == "string":
            label = tokens[j].text
            j += 1
        if j >= len(tokens) or tokens[j].text != "{":
            raise ValueError(f"line {head.line}: {head.text} must be followed by an optional label and '{{'")
        depth, k = 1, j + 1
        while depth:
            if tokens[k].text == "{":
                depth += 1
            elif tokens[k].text == "}":
                depth -= 1
            k += 1
        blocks.append(AlloyBlock(head.text, label, head.line, tokens[j + 1:k - 1]))
        i = k
    return blocks


def logql_parts(expr: str) -> dict[str, list[str]]:
    """The label names an expression uses, by role, with strings blanked out.

    Returns ``selector`` (labels in ``{...}`` stream selectors), ``grouping`` (``by (...)``),
    ``extracted`` (labels a ``| json a="..."`` stage creates), ``filtered`` (labels compared
    after a pipeline stage) and ``ranges`` (the ``[5m]`` durations).
    """
    # Blank strings so that braces or pipes inside regexes do not count.
    blanked = re.sub(r'`[^`]*`|"(?:\\.|[^"\\])*"', '""', expr)
    tokens = tokenize_alloy(blanked)
    check_balanced(tokens)
    selector = [name for body in re.findall(r"\{([^{}]*)\}", blanked)
                for name in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)", body)]
    grouping = [name.strip() for group in re.findall(r"\bby\s*\(([^)]*)\)", blanked)
                for name in group.split(",") if name.strip()]
    extracted = [name for stage in re.findall(r"\|\s*json\b([^|\[]*)", blanked)
                 for name in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*=", stage)]
    outside_selectors = re.sub(r"\{[^{}]*\}", "{}", blanked)
    filtered = []
    for stage in re.split(r"\|(?![=~])", outside_selectors)[1:]:
        stage = stage.strip()
        if stage.startswith(("json", "logfmt", "line_format", "label_format")):
            continue
        filtered += re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|==|=|>|<)", stage.split("[")[0])
    ranges = re.findall(r"\[([0-9]+[smhd])\]", blanked)
    return {"selector": selector, "grouping": grouping, "extracted": extracted,
            "filtered": [f for f in filtered if f not in ("or", "and")], "ranges": ranges}
