"""loki/loki.yml: the settings the stack relies on, checked without a Loki binary.

With the real binary: `loki -config.file=loki/loki.yml -verify-config` (see loki/README.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

LOKI_DIR = Path(__file__).resolve().parents[2] / "loki"

# Top-level blocks of Loki 3.x's configuration reference: a misspelt block is an error there.
LOKI3_TOP_LEVEL = {
    "target", "auth_enabled", "ballast_bytes", "server", "distributor", "querier",
    "query_scheduler", "frontend", "query_range", "ruler", "ruler_storage", "ingester_client",
    "ingester", "pattern_ingester", "index_gateway", "bloom_build", "bloom_gateway",
    "storage_config", "chunk_store_config", "schema_config", "compactor", "limits_config",
    "frontend_worker", "table_manager", "memberlist", "kafka_config", "runtime_config",
    "operational_config", "tracing", "analytics", "common", "shutdown_delay",
    "metrics_namespace", "profiling", "ui", "dataobj",
}


@pytest.fixture(scope="module")
def loki() -> dict:
    return yaml.safe_load((LOKI_DIR / "loki.yml").read_text())


def test_only_known_top_level_blocks(loki):
    unknown = set(loki) - LOKI3_TOP_LEVEL
    assert not unknown, f"loki.yml: unknown top-level keys {sorted(unknown)} (Loki 3 refuses them)"


def test_single_tenant_without_auth(loki):
    # With auth off the tenant is "fake": the rules directory layout depends on it.
    assert loki["auth_enabled"] is False
    assert (LOKI_DIR / "rules" / "fake").is_dir()


def test_filesystem_storage_with_tsdb_schema_v13(loki):
    schemas = loki["schema_config"]["configs"]
    latest = max(schemas, key=lambda s: str(s["from"]))
    assert (latest["store"], latest["object_store"], latest["schema"]) == ("tsdb", "filesystem", "v13")
    assert latest["index"]["period"] == "24h", "tsdb needs a 24h index period"
    assert "filesystem" in loki["common"]["storage"]
    assert loki["common"]["replication_factor"] == 1, "single binary: one replica"


def _hours(duration: str) -> float:
    units = {"h": 1, "d": 24, "w": 168}
    assert duration[-1] in units, f"retention {duration!r}: expected a number of h, d or w"
    return float(duration[:-1]) * units[duration[-1]]


def test_retention_is_set_and_applied(loki):
    assert _hours(loki["limits_config"]["retention_period"]) >= 24 * 7
    compactor = loki["compactor"]
    # Without retention_enabled the compactor ignores retention_period; Loki 3 refuses
    # retention without a delete_request_store.
    assert compactor["retention_enabled"] is True
    assert compactor["delete_request_store"] == "filesystem"
    assert compactor["working_directory"].startswith("/loki/"), "must live on the loki-data volume"


def test_ruler_sends_to_the_stacks_alertmanager(loki):
    ruler = loki["ruler"]
    assert ruler["alertmanager_url"] == "http://alertmanager:9093"
    assert ruler["enable_alertmanager_v2"] is True, "Alertmanager >= 0.27 has no v1 API"
    assert ruler["storage"]["type"] == "local"
    # docker-compose.yml mounts loki/rules at this path.
    assert ruler["storage"]["local"]["directory"] == "/etc/loki/rules"
    assert "evaluation_interval" in ruler


def test_paths_written_at_run_time_are_on_the_data_volume(loki):
    writable = [
        loki["common"]["path_prefix"],
        loki["common"]["storage"]["filesystem"]["chunks_directory"],
        loki["ruler"]["rule_path"],
        loki["compactor"]["working_directory"],
        *loki["storage_config"]["tsdb_shipper"].values(),
    ]
    assert all(p.startswith("/loki") for p in writable), writable
