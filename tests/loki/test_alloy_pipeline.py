"""loki/config.alloy: a well-formed pipeline from the Docker socket to Loki.

No Alloy binary here; with one: `alloy fmt loki/config.alloy` (see loki/README.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.loki.loki_checks import AlloyBlock, parse_alloy

ALLOY_FILE = Path(__file__).resolve().parents[2] / "loki" / "config.alloy"

# Components the pipeline may use (Alloy 1.x names); anything else is a typo or needs review.
KNOWN_COMPONENTS = {
    "discovery.docker", "discovery.relabel", "loki.source.docker", "loki.process",
    "loki.relabel", "loki.write", "logging", "livedebugging",
}
KNOWN_STAGES = {
    "stage.json", "stage.logfmt", "stage.labels", "stage.match", "stage.template",
    "stage.drop", "stage.static_labels", "stage.structured_metadata", "stage.timestamp",
    "stage.label_drop", "stage.output",
}
# Low-cardinality labels only: a few services, five levels, three exchanges.
PROMOTED_LABELS = {"service", "level", "exchange"}
PIPELINE = ["discovery.docker", "discovery.relabel", "loki.source.docker", "loki.process", "loki.write"]


@pytest.fixture(scope="module")
def blocks() -> list[AlloyBlock]:
    return parse_alloy(ALLOY_FILE.read_text())


def _components(blocks):
    return {f"{b.kind}.{b.label}": b for b in blocks if b.label is not None}


def _references(block: AlloyBlock) -> list[str]:
    """Dotted names used as values: not keys (x =), not nested blocks (x {), not calls (x()."""
    refs = []
    tokens = block.tokens
    for i, token in enumerate(tokens):
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if token.kind != "ident" or "." not in token.text:
            continue
        if following is not None and (following.text in ("=", "{", "(") or following.kind == "string"):
            continue
        refs.append(token.text)
    return refs


def test_only_known_components_and_stages(blocks):
    unknown = {b.kind for b in blocks} - KNOWN_COMPONENTS
    assert not unknown, f"config.alloy: unknown components {sorted(unknown)}"
    stages = {t.text for b in blocks for i, t in enumerate(b.tokens)
              if t.text.startswith("stage.") and b.tokens[i + 1].text == "{"}
    assert stages <= KNOWN_STAGES, f"unknown stages {sorted(stages - KNOWN_STAGES)}"
    names = [f"{b.kind}.{b.label}" for b in blocks]
    assert len(names) == len(set(names)), f"a component is defined twice: {names}"


def test_every_reference_names_a_defined_component(blocks):
    defined = _components(blocks)
    for block in blocks:
        for ref in _references(block):
            owner = [name for name in defined if ref.startswith(name + ".")]
            assert owner, f"config.alloy line {block.line}: {ref} refers to no defined component"


def _edges(blocks) -> set[tuple[str, str]]:
    """(from, to) kinds: `forward_to = [x.receiver]` sends to x; any other export is read from x."""
    defined = _components(blocks)
    edges = set()
    for block in blocks:
        for ref in _references(block):
            (owner,) = [name for name in defined if ref.startswith(name + ".")]
            if ref.endswith(".receiver"):
                edges.add((block.kind, defined[owner].kind))
            else:
                edges.add((defined[owner].kind, block.kind))
    return edges


def test_pipeline_runs_discovery_relabel_source_process_write(blocks):
    assert _edges(blocks) == set(zip(PIPELINE, PIPELINE[1:]))


def test_docker_socket_is_the_only_source(blocks):
    for block in blocks:
        for i, token in enumerate(block.tokens):
            if token.text == "host":
                assert block.tokens[i + 2].text == "unix:///var/run/docker.sock"


def _string_after(tokens, key: str) -> list[str]:
    return [tokens[i + 2].text for i, t in enumerate(tokens)
            if t.text == key and tokens[i + 1].text == "=" and tokens[i + 2].kind == "string"]


def _object_keys_after(tokens, key: str) -> list[str]:
    """Keys of the object literal assigned to `key = { a = ..., b = ... }`."""
    keys = []
    for i, t in enumerate(tokens):
        if t.text == key and tokens[i + 1].text == "=" and tokens[i + 2].text == "{":
            depth, j = 1, i + 3
            while depth:
                if tokens[j].text in "{[(" and tokens[j].kind == "punct":
                    depth += 1
                elif tokens[j].text in "}])" and tokens[j].kind == "punct":
                    depth -= 1
                elif depth == 1 and tokens[j].kind == "ident" and tokens[j + 1].text == "=":
                    keys.append(tokens[j].text)
                j += 1
    return keys


def test_keeps_only_this_compose_project(blocks):
    (relabel,) = [b for b in blocks if b.kind == "discovery.relabel"]
    tokens = relabel.tokens
    assert "__meta_docker_container_label_com_docker_compose_project" in _string_after(tokens, "source_labels") or any(
        t.text == "__meta_docker_container_label_com_docker_compose_project" for t in tokens)
    assert "keep" in _string_after(tokens, "action")
    # The project name comes from the environment compose gives Alloy, not a literal.
    assert any(t.text == "sys.env" for t in tokens)


def test_promotes_exactly_the_low_cardinality_labels(blocks):
    promoted = set()
    for block in blocks:
        promoted |= {label for label in _string_after(block.tokens, "target_label") if not label.startswith("__")}
        for i, token in enumerate(block.tokens):
            if token.text in ("stage.labels", "stage.static_labels"):
                promoted |= set(_object_keys_after(block.tokens[i:], "values"))
    assert promoted == PROMOTED_LABELS


def test_json_lines_are_parsed_for_the_promoted_fields(blocks):
    (process,) = [b for b in blocks if b.kind == "loki.process"]
    tokens = process.tokens
    json_at = [i for i, t in enumerate(tokens) if t.text == "stage.json"]
    assert json_at, "loki.process must parse our JSON lines with stage.json"
    extracted = set(_object_keys_after(tokens[json_at[0]:], "expressions"))
    assert {"level", "exchange"} <= extracted


def test_writes_to_the_stacks_loki(blocks):
    (write,) = [b for b in blocks if b.kind == "loki.write"]
    assert _string_after(write.tokens, "url") == ["http://loki:3100/loki/api/v1/push"]
