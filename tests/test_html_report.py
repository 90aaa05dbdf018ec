"""The HTML report as a browser shows it: Debian's chromium, headless, loads the written file and gives back the DOM it
built, its console log and a screenshot, all from one launch; the test reads the cells, the counts, the list of runs
to look at and the links from that DOM, and the cells' colours and places from the screenshot, against an oracle.

"No errors" is read from chromium's console log (``--enable-logging=stderr --v=0`` prints each console message as a
``CONSOLE`` line): a clean page logs nothing. The page's Content-Security-Policy makes any load (a stylesheet, a font,
an inline or outside script) a refused, logged action, so nothing can run to throw; a second launch on a copy of the
page with a stylesheet from outside and a script added proves that such errors do reach this log, so that an empty
log means something.
"""

import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
from PIL import Image

from flytekitplugins.backfill.command.html_report import (
    COLOURS,
    BackfillReport,
    ReportRun,
    report_html,
    write_html_report,
)
from flytekitplugins.backfill.flyte.local import RunResult

UTC = timezone.utc
START = datetime(2024, 1, 1, tzinfo=UTC)
GROUP = {  # the oracle's own grouping of phases into display states
    "FAILED": "FAILED", "TIMED_OUT": "FAILED", "ABORTED": "ABORTED", "NOT_RUN": "NOT_RUN", "QUEUED": "RUNNING",
    "RUNNING": "RUNNING", "PENDING": "PENDING", "SUCCEEDED": "SUCCEEDED",
}  # fmt: skip
SPECIAL = {  # hour since START: phase; every other hour of three days SUCCEEDED
    5: "FAILED", 30: "TIMED_OUT", 31: "ABORTED", 50: "NOT_RUN", 60: "RUNNING", 61: "QUEUED", 70: "PENDING",
    71: "PENDING",
}  # fmt: skip
CAUSE = "ValueError: <b>bad</b> & \"quoted\""
RETRY = "pyflyte backfill --retry-failed 'bf-<abc>' && echo done"
LAUNCH_PLAN = "daily<script>document.title='owned'</script>"


def console_url(execution: str) -> Optional[str]:
    """Every run has a console page but bf-0's (a console that does not know it); one offers a script, not a page."""
    special = {"bf-0": None, "bf-1": "javascript:alert(1)"}
    return special.get(execution, f"https://console.example/runs/{execution}?a=1&b=2")


def report_runs() -> List[ReportRun]:
    runs = []
    for hour in range(72):
        phase = SPECIAL.get(hour, "SUCCEEDED")
        execution = None if phase in ("PENDING", "NOT_RUN") else f"bf-{hour}"
        runs.append(ReportRun(START + timedelta(hours=hour), phase, execution, CAUSE if phase == "FAILED" else None))
    # three more runs in hour 16 of the second day, as a 15-minute schedule would have: the slot shows four cells
    for minute, phase in ((15, "SUCCEEDED"), (30, "FAILED"), (45, "SUCCEEDED")):
        runs.append(ReportRun(START + timedelta(hours=40, minutes=minute), phase, f"bf-40-{minute}"))
    return runs


@dataclass
class Element:
    tag: str
    attrs: Dict[str, str]
    text: str = ""
    row_label: Optional[str] = None  # for a calendar cell: its row's label and the index of its slot in the row
    slot: int = -1


class Page(HTMLParser):
    """The elements of a serialised DOM, with the calendar row and slot of every cell."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: List[Element] = []
        self._open: List[Element] = []
        self._label: Optional[str] = None
        self._slot = -1

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: v or "" for k, v in attrs})
        classes = element.attrs.get("class", "").split()
        if "row" in classes:
            self._label, self._slot = None, -1
        if "slot" in classes:
            self._slot += 1
        if "cell" in classes:
            element.row_label, element.slot = self._label, self._slot
        self.elements.append(element)
        if tag not in ("meta", "link", "img", "br", "input"):
            self._open.append(element)

    def handle_endtag(self, tag):
        while self._open:
            element = self._open.pop()
            if element.tag == tag:
                if "label" in element.attrs.get("class", "").split():
                    self._label = element.text
                break

    def handle_data(self, data):
        for element in self._open:
            element.text += data

    def having(self, tag: Optional[str] = None, cls: Optional[str] = None) -> List[Element]:
        return [
            e for e in self.elements
            if (tag is None or e.tag == tag) and (cls is None or cls in e.attrs.get("class", "").split())
        ]  # fmt: skip


def parsed(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def browse(page: Path, profile: Path, screenshot: Optional[Path] = None) -> Tuple[str, List[str]]:
    """(the DOM chromium serialised after loading ``page``, the console messages it logged)."""
    if CHROMIUM is None:
        pytest.fail("chromium is not installed, and this test needs a real browser: apt-get install -y chromium "
                    "(.ci/run installs it where it is missing)")  # fmt: skip
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
        f"--user-data-dir={profile}", "--force-device-scale-factor=1", "--hide-scrollbars", "--window-size=1200,900",
    ]  # fmt: skip
    if screenshot is not None:
        command.append(f"--screenshot={screenshot}")
    done = subprocess.run(command + ["--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "<html" in done.stdout, done.stderr[-3000:]
    return done.stdout, [line for line in done.stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]


@dataclass
class Loaded:
    runs: List[ReportRun]
    page: Page
    console: List[str]
    screenshot: Path
    broken_console: List[str]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Loaded:
    """The report written and loaded in chromium (DOM, console, screenshot), and a broken copy loaded for its log."""
    folder = tmp_path_factory.mktemp("html_report")
    runs = report_runs()
    report = BackfillReport("bf-<abc>", LAUNCH_PLAN, "FAILED", tuple(runs), RETRY)
    path = write_html_report(folder / "report.html", report, console_url)
    dom, console = browse(path, folder / "profile", folder / "report.png")
    broken = folder / "broken.html"
    broken.write_text(
        path.read_text(encoding="utf-8").replace(
            "</head>",
            '<link rel="stylesheet" href="https://fonts.example/face.css"></head>'
            '<script>throw new Error("a broken page")</script>',
        ),
        encoding="utf-8",
    )
    _, broken_console = browse(broken, folder / "profile")
    return Loaded(runs, parsed(dom), console, folder / "report.png", broken_console)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_page_loads_without_a_console_message_and_a_broken_one_logs_its_errors(loaded):
    assert loaded.console == []
    assert any("fonts.example/face.css" in line and "Content Security Policy" in line for line in loaded.broken_console)
    assert any("inline script" in line and "Content Security Policy" in line for line in loaded.broken_console)


def test_the_page_needs_nothing_from_outside(loaded):
    page = loaded.page
    assert not page.having("script") and not page.having("link") and not page.having("img")
    assert not [e for e in page.elements if "src" in e.attrs]
    style = " ".join(e.text for e in page.having("style"))
    assert "url(" not in style and "@import" not in style and "@font-face" not in style
    policy = [e.attrs["content"] for e in page.having("meta") if e.attrs.get("http-equiv") == "Content-Security-Policy"]
    assert policy and "default-src 'none'" in policy[0]


def test_one_cell_per_instant_at_its_day_and_hour_with_its_state_and_link(loaded):
    cells = loaded.page.having(cls="cell")
    assert Counter(e.attrs["data-instant"] for e in cells) == Counter(iso(r.instant) for r in loaded.runs)
    for run in loaded.runs:
        [cell] = [e for e in cells if e.attrs["data-instant"] == iso(run.instant)]
        assert (cell.row_label, cell.slot) == (run.instant.date().isoformat(), run.instant.hour)
        assert cell.attrs["data-state"] == run.state
        assert cell.attrs["data-group"] == GROUP[run.state]
        assert iso(run.instant) in cell.attrs["title"] and run.state in cell.attrs["title"]
        url = console_url(run.execution) if run.execution else None
        if url and url.startswith("https://"):
            assert (cell.tag, cell.attrs.get("href")) == ("a", url)
            assert f"run {run.execution}" in cell.attrs["title"]
        else:
            assert cell.tag == "span" and "href" not in cell.attrs
    assert [len(loaded.page.having(cls="row")) - 1, len(loaded.page.having(cls="slot"))] == [3, 3 * 24]


def test_the_title_counts_list_and_retry_command_read_as_given(loaded):
    page = loaded.page
    [title] = page.having("title")
    assert title.text == f"Backfill bf-<abc> of {LAUNCH_PLAN}: FAILED"  # the name's markup is text, not a script
    counts = {e.attrs["data-group"]: int(e.text.split()[-1] if "(" not in e.text else e.text.split("(")[0].split()[-1])
              for e in page.having("li", "count")}  # fmt: skip
    oracle = Counter(GROUP[r.state] for r in loaded.runs)
    assert counts == {g: oracle[g] for g in ("FAILED", "ABORTED", "NOT_RUN", "RUNNING", "PENDING", "SUCCEEDED")}
    assert counts["FAILED"] == 3 and counts["NOT_RUN"] == 1  # TIMED_OUT counts as failed; not run stands apart
    rows = page.having("tr", "look")
    assert [(r.attrs["data-state"], r.attrs["data-instant"]) for r in rows] == [
        ("FAILED", "2024-01-01T05:00:00Z"),
        ("TIMED_OUT", "2024-01-02T06:00:00Z"),
        ("FAILED", "2024-01-02T16:30:00Z"),
        ("ABORTED", "2024-01-02T07:00:00Z"),
        ("NOT_RUN", "2024-01-03T02:00:00Z"),
    ]
    assert CAUSE in rows[0].text and "bf-5" in rows[0].text
    [link] = [e for e in page.having("a") if e.text == "bf-5" and "cell" not in e.attrs.get("class", "")]
    assert link.attrs["href"] == console_url("bf-5")
    [retry] = page.having("pre", "retry")
    assert retry.text == RETRY


def palette_blobs(png: Path) -> List[Tuple[int, int, int, int, float, str]]:
    """(x, y, width, height, share of the box filled, display state) of every area of one state's fill colour."""
    image = Image.open(png).convert("RGB")
    width, height = image.size
    data = image.tobytes()
    pixels = list(zip(data[0::3], data[1::3], data[2::3]))
    state_of = {tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)): state for state, c in COLOURS.items()}
    seen = set()
    blobs = []
    for start, colour in enumerate(pixels):
        if colour not in state_of or start in seen:
            continue
        seen.add(start)
        stack, xs, ys = [start], [], []
        while stack:
            at = stack.pop()
            x, y = at % width, at // width
            xs.append(x)
            ys.append(y)
            for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                near = ny * width + nx
                if 0 <= nx < width and 0 <= ny < height and near not in seen and pixels[near] == colour:
                    seen.add(near)
                    stack.append(near)
        box_width, box_height = max(xs) - min(xs) + 1, max(ys) - min(ys) + 1
        blobs.append((min(xs), min(ys), box_width, box_height, len(xs) / (box_width * box_height), state_of[colour]))
    return blobs


def test_the_screenshot_shows_each_cell_in_its_colour_at_its_day_and_hour(loaded):
    assert loaded.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(loaded.screenshot).size == (1200, 900)
    # a cell is a square of 18 px, filled but for its letter: not a swatch (12 px), a small cell, nor a glyph
    cells = [b for b in palette_blobs(loaded.screenshot) if b[2] >= 16 and b[3] >= 16 and b[4] > 0.75]
    columns = sorted({x for x, *_ in cells})
    rows = sorted({y for _, y, *_ in cells})
    assert len(columns) == 24 and len(rows) == 3
    seen = {(rows.index(y), columns.index(x)): state for x, y, *_, state in cells}
    alone = Counter((r.instant.date(), r.instant.hour) for r in loaded.runs)
    oracle = {
        ((r.instant.date() - START.date()).days, r.instant.hour): GROUP[r.state]
        for r in loaded.runs
        if alone[(r.instant.date(), r.instant.hour)] == 1  # the four runs of one hour are small cells, not counted
    }
    assert seen == oracle
    red, green = (tuple(int(COLOURS[s][i : i + 2], 16) for i in (1, 3, 5)) for s in ("FAILED", "SUCCEEDED"))
    assert red[0] > 180 and red[1] < 90 and red[2] < 90  # failed cells are red, succeeded ones green
    assert green[1] > 130 and green[0] < 90 and green[2] < 120


def test_a_daily_report_lays_days_by_weekday_and_a_local_one_links_nothing():
    results = [
        RunResult(START + timedelta(days=d, hours=8), "FAILED" if d == 3 else "SUCCEEDED", cause="boom" * (d == 3))
        for d in range(10)
    ]
    report = BackfillReport.of_results("local-bf", "daily_lp", results, "pyflyte backfill ...")
    page = parsed(report_html(report, console_url))
    cells = page.having(cls="cell")
    assert [(c.row_label, c.slot, c.attrs["data-state"]) for c in cells] == [
        ((r.instant.date() - timedelta(days=r.instant.weekday())).isoformat(), r.instant.weekday(), r.status)
        for r in results
    ]
    assert all(c.tag == "span" for c in cells) and not page.having("a")
    assert [h.text for h in page.having("h2")][-1] == "Calendar: days (UTC) by ISO week"
    [phase] = page.having("b", "phase")
    assert phase.text == "FAILED"
    assert "boom" in page.having("tr", "look")[0].text
