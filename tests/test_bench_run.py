"""`python bench/run.py all` keeps going when a benchmark fails or leaves a figure out, and its
table says so beside each aim."""

from __future__ import annotations

import os

from bench import run


def test_table_judges_each_figure_against_its_aim() -> None:
    outcomes = {
        "baseline": ("ok", {"floor_vs_stock": "1.25", "floor_p95_ms": "40.5"}),
        "queue": ("ok", {"queue_vs_floor": "3.40"}),
    }
    rows = {line.split()[0]: line.split() for line in run._table(outcomes).splitlines()[2:]}

    assert rows["floor_vs_stock"][-2:] == ["1.25", "yes"]
    assert rows["queue_vs_floor"][-2:] == ["3.40", "NO"]
    # A figure shown for reading only is never judged.
    assert rows["floor_p95_ms"][-2:] == ["40.5", "-"]
    # A benchmark that ran but left a figure out, and one that never ran.
    assert rows["marking_vs_floor"][-1] == "missing"
    assert rows["lost"][-2:] == ["not", "run"]


def test_a_failed_benchmark_is_reported_with_what_it_gave() -> None:
    outcomes = {"export": ("failed (exit 1)", {"export_mem_mib": "120"})}
    table = run._table(outcomes)

    assert "export_vs_zip" in table
    line = next(line for line in table.splitlines() if line.startswith("export_vs_zip"))
    assert line.endswith("failed (exit 1)")
    line = next(line for line in table.splitlines() if line.startswith("export_mem_mib"))
    assert line.endswith("yes (failed (exit 1))")


def test_a_benchmark_that_exits_is_caught_not_fatal() -> None:
    status, figures = run._run_one("no-such-benchmark", [], dict(os.environ), timeout=120)

    assert status == "failed (exit 1)"
    assert figures == {}


def test_a_page_not_built_yet_is_shown_as_not_measured() -> None:
    """bench/playlist.py measures the pathway map and the playlist by URL name, and gives n/a
    for a page that does not exist yet: the table says so rather than judging it."""
    outcomes = {
        "playlist": (
            "ok",
            {"catalogue_vs_floor": "1.80", "pathway_vs_floor": "n/a", "playlist_vs_floor": "n/a"},
        )
    }
    rows = {line.split()[0]: line.split() for line in run._table(outcomes).splitlines()[2:]}

    assert rows["catalogue_vs_floor"][-2:] == ["1.80", "yes"]
    assert rows["pathway_vs_floor"][-4:] == ["n/a", "no", "page", "yet"]
    assert run._fmt("n/a") == "n/a"
    assert run._fmt(2.345) == "2.35"
    assert "playlist" in run.BENCHMARKS
