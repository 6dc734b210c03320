"""What each staff member did: the one definition behind the Engagement page's staff lists
and the Partner scorecard's staff table."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from kpi.store import query


def staff_activity(
    con: duckdb.DuckDBPyConnection, as_of: date, window_days: int, partner_id: str | None = None
) -> pl.DataFrame:
    """One row per staff member (partner_users) and what each did in the window (A - W < d <= A).

    Partners: `partner_id` None = every partner in the program at A; an id = that partner,
    in the program or not. `trainings`, `content_shares`, `content_views`, `logins`: the
    user's activities of each kind in the window; `last_active_on`: the date of the user's
    latest activity of any kind on or before A, also before the window (empty if never).
    Staff without activity have zeros. Activities without a user_id belong to the partner,
    not to a person: they make one more row per partner (`no_user` true, user_id, user_name
    and role empty) when there are any of those four kinds in the window.
    Columns: partner_id, partner_name, user_id, user_name, role, no_user, the four counts,
    last_active_on; ordered by partner name and id, named staff first, then by name and id.
    """
    return query(con, "staff_activity", as_of=as_of, window_days=window_days, partner_id=partner_id)
