"""bench_core's engine figures: the event scan (`metrics.partner_facts`, cold and warm), a
threshold change on computed facts for several views, and the proof that a threshold change
sends no statement to DuckDB (every statement counted through `CountingConnection`).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from bench_common import ROOT, summary_ms, timed

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import polars as pl  # noqa: E402

from kpi import metrics, store  # noqa: E402
from kpi.params import View  # noqa: E402

# Threshold views for the engine: every kind of threshold the sidebar offers.
THRESHOLD_VIEWS: dict[str, dict[str, Any]] = {
    "default": {},
    "min_trainings=3": {"min_trainings": 3},
    "min_shares=4, min_criteria=2": {"min_shares": 4, "min_criteria": 2},
    "min_deals=0 (criterion off)": {"min_deals": 0},
    "reward_min_revenue=100000": {"reward_min_revenue": 100_000.0},
    "drop_max_actions=10, grace_days=0": {"drop_max_actions": 10, "grace_days": 0},
    "all criteria off": {"min_trainings": 0, "min_shares": 0, "min_deals": 0},
}
_READS_ACTIVITIES = re.compile(r"\bactivities\b", re.IGNORECASE)


class QueryLog:
    """Every SQL statement sent to DuckDB through a `CountingConnection`."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __len__(self) -> int:
        return len(self.statements)

    def since(self, mark: int) -> dict[str, int]:
        new = self.statements[mark:]
        return {
            "statements": len(new),
            "statements_reading_activities": sum(1 for s in new if _READS_ACTIVITIES.search(s)),
        }


class CountingConnection:
    """A DuckDB connection or cursor that records every statement sent through it.

    Cursors it hands out record into the same log, so wrapping the connection the app
    opens (`kpi.store.connect`) sees every query of the app, whichever code path runs it.
    """

    def __init__(self, inner: duckdb.DuckDBPyConnection, log: QueryLog) -> None:
        self._inner = inner
        self._log = log

    def sql(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self._log.statements.append(query)
        return self._inner.sql(query, *args, **kwargs)

    def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self._log.statements.append(query)
        return self._inner.execute(query, *args, **kwargs)

    def query(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self._log.statements.append(query)
        return self._inner.query(query, *args, **kwargs)

    def cursor(self) -> CountingConnection:
        return CountingConnection(self._inner.cursor(), self._log)

    def __enter__(self) -> CountingConnection:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> Any:
        return self._inner.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def threshold_change(facts: pl.DataFrame, view: View) -> tuple[dict[str, Any], pl.DataFrame]:
    """What a threshold move costs the engine: thresholds applied to computed facts."""
    segmented = metrics.segment(facts, view)
    return metrics.summarize(segmented, view), metrics.tier_breakdown(segmented)


def bench_engine(db: Path, repeat: int) -> dict[str, Any]:
    log = QueryLog()
    con = store.connect(db)
    span = store.data_span(con)
    con.close()
    assert span is not None, "the benchmark database is empty"
    base = View(as_of=span[1])
    as_of, window = base.as_of, base.window_days

    # Cold: a fresh connection each time, so DuckDB's buffer pool is empty (the OS file
    # cache is warm: the file was just written). No other connection to the file is open,
    # otherwise DuckDB would share its database instance.
    connect_s: list[float] = []
    cold_s: list[float] = []
    for _ in range(repeat):
        seconds, raw = timed(lambda: store.connect(db))
        connect_s.append(seconds)
        counting = CountingConnection(raw, log)
        cold_s.append(timed(lambda c=counting: metrics.partner_facts(c, as_of, window))[0])
        raw.close()
    scan_statements = log.since(0)

    con = CountingConnection(store.connect(db), log)
    facts = metrics.partner_facts(con, as_of, window)
    warm_s = [timed(lambda: metrics.partner_facts(con, as_of, window))[0] for _ in range(repeat)]

    views = {name: base.replace(**changes) for name, changes in THRESHOLD_VIEWS.items()}
    reference = {name: threshold_change(facts, view) for name, view in views.items()}

    # The proof: close the connection, check it refuses a query, then run every threshold
    # change; not one statement may reach DuckDB, and the results must equal those
    # computed while the connection was open.
    con.close()
    try:
        metrics.partner_facts(con, as_of, window)
        refused = False
    except duckdb.Error:
        refused = True
    mark = len(log)
    per_view: dict[str, Any] = {}
    all_s: list[float] = []
    identical = True
    activated: dict[str, int] = {}
    for name, view in views.items():
        samples: list[float] = []
        for _ in range(repeat):
            seconds, (summary, breakdown) = timed(lambda v=view: threshold_change(facts, v))
            samples.append(seconds)
            ref_summary, ref_breakdown = reference[name]
            identical = identical and summary == ref_summary and breakdown.equals(ref_breakdown)
        per_view[name] = summary_ms(samples)
        activated[name] = reference[name][0]["activated"]
        all_s += samples
    during = log.since(mark)
    proof = {
        "connection_closed_during_threshold_changes": True,
        "closed_connection_refuses_queries": refused,
        "results_identical_to_open_connection": identical,
        **during,
        "holds": refused and identical and during["statements"] == 0,
    }
    threshold = summary_ms(all_s)
    warm = summary_ms(warm_s)
    return {
        "as_of": as_of.isoformat(),
        "window_days": window,
        "population": facts.height,
        "facts_bytes": facts.estimated_size(),
        "connect": summary_ms(connect_s),
        "facts_cold": summary_ms(cold_s),
        "facts_warm": warm,
        "scan_statements_per_call": scan_statements["statements"] / repeat,
        "threshold_change": threshold,
        "threshold_change_by_view": per_view,
        "activated_by_view": activated,
        "scan_to_threshold_ratio": warm["median_ms"] / threshold["median_ms"],
        "proof_no_rescan": proof,
    }
