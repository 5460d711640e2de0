"""The chart: a PNG that decodes, at the size meant for a phone, with the three curves drawn."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from reports.chart import BENCHMARK_COLOUR, CHART_SIZE_PIXELS, DRAWDOWN_COLOUR, EQUITY_COLOUR, chart_png
from reports.journal import Journal
from reports.periods import period_containing
from reports.rendering import render_report
from tests.reports.journal_fixture import create_journal, dense_journal, ts


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])


def _share_near(pixels: np.ndarray, colour: str, tolerance: int = 40) -> float:
    return float((np.abs(pixels.astype(int) - _rgb(colour)).max(axis=2) <= tolerance).mean())


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    path = tmp_path_factory.mktemp("dense")
    dense_journal(path, first_day="2026-05-04", days=7)
    return path


@pytest.mark.parametrize("kind, at", [("day", "2026-05-06"), ("week", "2026-05-06")])
def test_chart_decodes_at_phone_size_with_every_curve(state, kind, at):
    rendered = render_report(Journal(state), None, "main", period_containing(kind, ts(at)), ts("2026-05-11", 1))
    image = Image.open(io.BytesIO(rendered.png))
    image.verify()  # a complete, valid PNG
    image = Image.open(io.BytesIO(rendered.png)).convert("RGB")
    assert image.format is None or image.format == "PNG"
    assert image.size == CHART_SIZE_PIXELS == (1080, 1350)
    pixels = np.asarray(image)
    assert pixels.std() > 20, "the chart is (nearly) blank"
    assert _share_near(pixels, "#ffffff", 10) > 0.5  # a light background, for contrast
    assert _share_near(pixels, EQUITY_COLOUR) > 0.002, "no equity curve"
    assert _share_near(pixels, BENCHMARK_COLOUR) > 0.001, "no BTC buy-and-hold line"
    assert _share_near(pixels, DRAWDOWN_COLOUR, 60) > 0.001, "no drawdown"
    assert len(rendered.report.curve.times) == (1440 if kind == "day" else 7 * 1440)


def test_a_period_without_samples_still_gives_a_readable_chart(tmp_path):
    journal = create_journal(tmp_path)
    journal.account("main", created=ts("2026-05-01"))
    journal.close()
    rendered = render_report(Journal(tmp_path), None, "main", period_containing("day", ts("2026-05-02")),
                             ts("2026-05-03"))
    image = Image.open(io.BytesIO(chart_png(rendered.report))).convert("RGB")
    assert image.size == CHART_SIZE_PIXELS and np.asarray(image).std() > 5  # the "no samples" text and axes
