"""The HTML report in a real browser: rendered for three example deals and a book at few paths,
it loads nothing from a network, and headless Chromium (Debian's ``chromium``, installed by
``.ci/run``) draws every chart and prints it to PDF. The screenshot, the page and the PDF are
kept as test artefacts: under ``$GPUCREDIT_ARTIFACTS`` when set, else ``tests/artifacts/``
(git-ignored)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from tests.conftest import spec_path
from tests.unit.test_book_report import result as book_result  # noqa: F401 (a fixture)

from gpucredit.config.loading import load_deal
from gpucredit.pipeline import SimulationResult, simulate
from gpucredit.pipeline.book import BookResult
from gpucredit.reports.charts import tornado_inputs
from gpucredit.reports.html import render_report

ROOT = Path(__file__).resolve().parents[2]
DEALS = ("merchant_h100", "ddtl2_tiered_structure", "coreweave/notes_2030")
#: Few paths: the browser's drawing is under test, not the numbers.
PATHS = 64
#: Seconds Chromium may take to render the page (a cold start on a busy 2-core machine).
BROWSER_TIMEOUT = 180
#: Drawn elements an SVG chart has at least: its frame, axes, ticks and data are paths.
MIN_PATHS = 10

#: Attributes and CSS that would make a browser fetch something.
LOADS = re.compile(
    r"""\b(?:src|href|srcset|action|poster|data|xlink:href)\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|url\(\s*["']?\s*(?:https?:)?//|@import""",
    re.IGNORECASE,
)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail(
            "headless Chromium is needed to test the HTML report: install Debian's package "
            "(sudo apt-get install -y chromium; .ci/run does it in CI)"
        )
    return found


class _Charts(HTMLParser):
    """Per ``<figure id="chart-...">`` of a DOM: how many ``<svg>`` and drawn ``<path>``."""

    def __init__(self) -> None:
        super().__init__()
        self.current: str | None = None
        self.depth = 0
        self.svgs: dict[str, int] = {}
        self.paths: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        ident = dict(attrs).get("id") or ""
        if tag == "figure" and ident.startswith("chart-"):
            self.current, self.depth = ident, 0
            self.svgs[ident] = self.paths[ident] = 0
        if self.current is None:
            return
        if tag == "figure":
            self.depth += 1
        elif tag == "svg":
            self.svgs[self.current] += 1
        elif tag == "path" and (dict(attrs).get("d") or "").strip():
            self.paths[self.current] += 1

    def handle_endtag(self, tag: str) -> None:
        if self.current is not None and tag == "figure":
            self.depth -= 1
            if self.depth == 0:
                self.current = None


def _charts(markup: str) -> _Charts:
    parser = _Charts()
    parser.feed(markup)
    return parser


@pytest.fixture(scope="module")
def results() -> list[SimulationResult]:
    return [
        simulate(load_deal(spec_path(stem)), PATHS, 3, 32, calibration="sourced") for stem in DEALS
    ]


def _artefacts() -> Path:
    folder = Path(os.environ.get("GPUCREDIT_ARTIFACTS") or ROOT / "tests" / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.slow
def test_report_is_offline_and_every_chart_renders_in_chromium(
    results: list[SimulationResult],
    book_result: BookResult,  # noqa: F811
    tmp_path: Path,
) -> None:
    browser = _chromium()
    tornado = tornado_inputs(results[0].deal, n_paths=32, calibration="sourced")
    text = render_report(
        results,
        books=[book_result],
        stressed={"GPU glut": results[:1]},
        tornados={tornado.deal: tornado},
    )
    assert not LOADS.search(text), LOADS.search(text)
    assert "<script" not in text.lower()
    expected = _charts(text)
    # per deal fan, PD, collateral, loss (and the first one's tornado), the spread gap, the book
    assert len(expected.svgs) == 4 * len(DEALS) + 1 + 1 + 1
    page = tmp_path / "report.html"
    page.write_text(text, encoding="utf-8")
    shot = tmp_path / "report.png"
    common = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",  # never another run's profile lock
    ]
    dom = subprocess.run(
        [*common, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT,
        check=True,
    ).stdout
    drawn = _charts(dom)
    assert set(drawn.svgs) == set(expected.svgs)
    for chart, n_svg in drawn.svgs.items():
        assert n_svg == 1, chart
        assert drawn.paths[chart] >= MIN_PATHS, (chart, drawn.paths[chart])
    subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1200,3000", page.as_uri()],
        capture_output=True,
        timeout=BROWSER_TIMEOUT,
        check=True,
    )
    assert shot.is_file() and shot.stat().st_size > 10_000
    # and in print (@media print): Chromium's PDF of it has pages
    pdf = tmp_path / "report.pdf"
    subprocess.run(
        [*common, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri()],
        capture_output=True,
        timeout=BROWSER_TIMEOUT,
        check=True,
    )
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.read_bytes().count(b"/Type /Page") > 1
    shutil.copy2(shot, _artefacts() / "report.png")
    shutil.copy2(page, _artefacts() / "report.html")
    shutil.copy2(pdf, _artefacts() / "report.pdf")
