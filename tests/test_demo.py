"""The demo dataset: contract-valid, deterministic, and telling the product's story.

Everything here is computed straight from the generated frames with Polars, with the KPI
definitions of SPEC.md (window = the W days ending at the as-of date A, A - W < d <= A).
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from kpi.demo import DEMO_END, generate

TABLES = ("partners", "partner_users", "activities", "deals", "investments")
SCHEMA: dict[str, dict[str, pl.DataType]] = {
    "partners": {
        "partner_id": pl.String(),
        "partner_name": pl.String(),
        "joined_on": pl.Date(),
        "left_on": pl.Date(),
        "region": pl.String(),
        "partner_type": pl.String(),
        "channel_manager": pl.String(),
    },
    "partner_users": {
        "user_id": pl.String(),
        "partner_id": pl.String(),
        "user_name": pl.String(),
        "role": pl.String(),
    },
    "activities": {
        "partner_id": pl.String(),
        "user_id": pl.String(),
        "occurred_at": pl.Datetime("us"),
        "activity": pl.String(),
        "item_id": pl.String(),
        "item_name": pl.String(),
    },
    "deals": {
        "deal_id": pl.String(),
        "partner_id": pl.String(),
        "registered_on": pl.Date(),
        "status": pl.String(),
        "closed_on": pl.Date(),
        "amount": pl.Float64(),
        "mrr": pl.Float64(),
        "churned_on": pl.Date(),
    },
    "investments": {
        "partner_id": pl.String(),
        "spent_on": pl.Date(),
        "category": pl.String(),
        "amount": pl.Float64(),
    },
}
KINDS = {"login", "training_completed", "content_viewed", "content_shared"}
TWO_YEARS_BEFORE = date(2024, 10, 31)  # DEMO_END minus 24 months

Tables = dict[str, pl.DataFrame]


@pytest.fixture(scope="module")
def demo() -> Tables:
    # The demo the app builds on first start and the README describes.
    return generate(300, 7)


@pytest.fixture(scope="module")
def demo_1000() -> Tables:
    # A somewhat larger program for the growth comparison, whose "then" side is only the
    # hundred-odd founding partners at 300.
    return generate(1000, 7)


def population(t: Tables, as_of: date) -> pl.DataFrame:
    """Partners in the program at `as_of` (SPEC: joined_on <= A, left_on empty or > A)."""
    return t["partners"].filter(
        (pl.col("joined_on") <= as_of) & (pl.col("left_on").is_null() | (pl.col("left_on") > as_of))
    )


def window_kpis(t: Tables, as_of: date = DEMO_END, days: int = 90) -> pl.DataFrame:
    """Per-partner KPIs of SPEC.md for the population at `as_of`, window of `days`."""
    start = as_of - timedelta(days=days)

    def in_window(col: pl.Expr) -> pl.Expr:
        return (col > start) & (col <= as_of)

    acts = (
        t["activities"]
        .filter(in_window(pl.col("occurred_at").dt.date()))
        .group_by("partner_id")
        .agg(
            trainings=(pl.col("activity") == "training_completed").sum(),
            content_shares=(pl.col("activity") == "content_shared").sum(),
            content_views=(pl.col("activity") == "content_viewed").sum(),
            logins=(pl.col("activity") == "login").sum(),
        )
    )
    registered = (
        t["deals"].filter(in_window(pl.col("registered_on"))).group_by("partner_id").agg(deals_registered=pl.len())
    )
    won = (
        t["deals"]
        .filter((pl.col("status") == "won") & in_window(pl.col("closed_on")))
        .group_by("partner_id")
        .agg(revenue=(pl.col("amount") + 12 * pl.col("mrr").fill_null(0.0)).sum())
    )
    cost = (
        t["investments"].filter(in_window(pl.col("spent_on"))).group_by("partner_id").agg(cost=pl.col("amount").sum())
    )
    out = population(t, as_of).select("partner_id", "joined_on")
    for part in (acts, registered, won, cost):
        out = out.join(part, on="partner_id", how="left")
    return out.fill_null(0).with_columns(
        activated=(pl.col("trainings") >= 1) & (pl.col("content_shares") >= 1) & (pl.col("deals_registered") >= 1)
    )


def growth(t: Tables) -> tuple[float, float]:
    """Partners and monthly won revenue at DEMO_END over the same 24 months earlier.

    Monthly won revenue: the deal value (amount + 12 x mrr) of the deals won in the 90
    days ending at the date, over three, as `kpi.demo.generate`'s docstring states it.
    """
    partners = population(t, DEMO_END).height / population(t, TWO_YEARS_BEFORE).height
    revenue = window_kpis(t, DEMO_END)["revenue"].sum() / window_kpis(t, TWO_YEARS_BEFORE)["revenue"].sum()
    return partners, revenue


def top_share(revenue: pl.Series, fraction: float = 0.2) -> float:
    ordered = revenue.sort(descending=True)
    return float(ordered.head(round(fraction * ordered.len())).sum() / ordered.sum())


# --- shape and determinism ----------------------------------------------------------------


def test_tables_have_exactly_the_contract_columns_and_types(demo: Tables) -> None:
    assert tuple(demo) == TABLES
    for name, schema in SCHEMA.items():
        assert dict(demo[name].schema) == schema, name


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b, c = generate(300, 7), generate(300, 7), generate(300, 8)
    for name in TABLES:
        assert a[name].equals(b[name]), name
    assert not a["activities"].equals(c["activities"])
    assert not a["deals"].equals(c["deals"])
    assert not a["partners"].equals(c["partners"])


def test_default_arguments_are_300_partners_seed_7(demo: Tables) -> None:
    assert generate()["deals"].equals(demo["deals"])


def test_rows_scale_with_partners_about_100_activities_each(demo: Tables, demo_1000: Tables) -> None:
    assert demo["partners"].height == 300
    assert demo_1000["partners"].height == 1000
    # Rows per partner, over about two and a half years of history.
    bands = {
        "partner_users": (2.0, 5.0),
        "activities": (80.0, 130.0),
        "deals": (10.0, 35.0),
        "investments": (1.5, 7.0),
    }
    for name, (low, high) in bands.items():
        small, large = demo[name].height / 300, demo_1000[name].height / 1000
        assert low <= small <= high and low <= large <= high, (name, small, large)
        if name != "investments":  # funding is lumpy: a few partners get many grants
            assert 0.8 <= large / small <= 1.25, (name, small, large)


# --- every rule of the input contract ---------------------------------------------------


def test_ids_unique_and_formatted(demo: Tables) -> None:
    p, u, d = demo["partners"], demo["partner_users"], demo["deals"]
    assert p["partner_id"].is_unique().all()
    assert u["user_id"].is_unique().all()
    assert d["deal_id"].is_unique().all()
    assert p["partner_id"].str.contains(r"^P\d{5}$").all()
    assert u["user_id"].str.contains(r"^U\d{6}$").all()
    assert p["partner_name"].null_count() == 0
    assert (p["partner_name"].str.len_chars() > 3).all()


def test_required_values_present(demo: Tables) -> None:
    required = {
        "partners": ("partner_id", "partner_name", "joined_on"),
        "partner_users": ("user_id", "partner_id"),
        "activities": ("partner_id", "occurred_at", "activity"),
        "deals": ("deal_id", "partner_id", "registered_on", "status", "amount"),
        "investments": ("partner_id", "spent_on", "category", "amount"),
    }
    for name, cols in required.items():
        for col in cols:
            assert demo[name][col].null_count() == 0, (name, col)


def test_foreign_keys_and_users_belong_to_their_partner(demo: Tables) -> None:
    ids = demo["partners"].select("partner_id")
    for name in ("partner_users", "activities", "deals", "investments"):
        orphans = demo[name].join(ids, on="partner_id", how="anti")
        assert orphans.height == 0, name
    acts = demo["activities"].filter(pl.col("user_id").is_not_null())
    matched = acts.join(demo["partner_users"], on=["user_id", "partner_id"], how="inner")
    assert matched.height == acts.height
    # Most events name the person; a few percent do not.
    missing = demo["activities"]["user_id"].null_count() / demo["activities"].height
    assert 0.005 <= missing <= 0.06, missing


def test_accepted_values(demo: Tables) -> None:
    assert set(demo["activities"]["activity"].unique()) == KINDS
    assert set(demo["deals"]["status"].unique()) == {"open", "won", "lost"}
    assert set(demo["investments"]["category"].unique()) <= {
        "mdf",
        "incentive",
        "enablement",
        "spiff",
        "other",
    }
    p = demo["partners"]
    assert set(p["region"].unique()) <= {"North America", "EMEA", "APAC", "LATAM"}
    assert set(p["partner_type"].unique()) == {
        "reseller",
        "referral",
        "msp",
        "system_integrator",
    }
    assert 6 <= p["channel_manager"].n_unique() <= 10
    assert set(demo["partner_users"]["role"].unique()) <= {
        "sales",
        "presales",
        "marketing",
        "admin",
    }


def test_deal_dates_and_money_rules(demo: Tables) -> None:
    d = demo["deals"]
    open_ = d.filter(pl.col("status") == "open")
    closed = d.filter(pl.col("status") != "open")
    assert open_["closed_on"].null_count() == open_.height
    assert closed["closed_on"].null_count() == 0
    delay = (closed["closed_on"] - closed["registered_on"]).dt.total_days()
    assert delay.min() >= 14 and delay.max() <= 120
    churned = d.filter(pl.col("churned_on").is_not_null())
    assert (churned["status"] == "won").all()
    assert (churned["churned_on"] >= churned["closed_on"]).all()
    assert (churned["mrr"] > 0).all()
    for frame in (d, demo["investments"]):
        assert (frame["amount"] >= 0).all()
        assert (frame["amount"] == frame["amount"].round(2)).all()
    mrr = d["mrr"].drop_nulls()
    assert (mrr >= 0).all() and (mrr == mrr.round(2)).all()


def test_partner_dates_and_everything_happens_while_in_the_program(demo: Tables) -> None:
    p = demo["partners"]
    left = p.filter(pl.col("left_on").is_not_null())
    assert (left["left_on"] >= left["joined_on"]).all()
    assert 0.05 <= left.height / p.height <= 0.10
    dates = {
        "activities": pl.col("occurred_at").dt.date(),
        "deals": pl.col("registered_on"),
        "investments": pl.col("spent_on"),
    }
    for name, day in dates.items():
        rows = demo[name].with_columns(day=day).join(p, on="partner_id")
        assert (rows["day"] >= rows["joined_on"]).all(), name
        gone = rows.filter(pl.col("left_on").is_not_null())
        assert (gone["day"] < gone["left_on"]).all(), name


def test_nothing_after_demo_end_and_history_reaches_it(demo: Tables) -> None:
    columns = {
        "partners": ("joined_on", "left_on"),
        "deals": ("registered_on", "closed_on", "churned_on"),
        "investments": ("spent_on",),
    }
    for name, cols in columns.items():
        for col in cols:
            assert demo[name][col].max() <= DEMO_END, (name, col)
    occurred = demo["activities"]["occurred_at"]
    assert occurred.dt.date().max() == DEMO_END
    # Timestamps carry a time of day, in plausible working hours.
    hours = occurred.dt.hour()
    assert hours.n_unique() > 8 and hours.min() >= 6 and hours.max() <= 22
    assert demo["deals"]["registered_on"].max() >= DEMO_END - timedelta(days=3)
    # About two years and a bit of history; founding partners joined from 2021 on.
    assert date(2024, 1, 1) <= occurred.dt.date().min() <= date(2024, 10, 1)
    assert demo["partners"]["joined_on"].min() < date(2021, 7, 1)


def test_items_named_for_courses_and_content_not_for_logins(demo: Tables) -> None:
    a = demo["activities"]
    logins = a.filter(pl.col("activity") == "login")
    assert logins["item_id"].null_count() == logins.height
    assert logins["item_name"].null_count() == logins.height
    others = a.filter(pl.col("activity") != "login")
    assert others["item_id"].null_count() == 0 and others["item_name"].null_count() == 0
    courses = a.filter(pl.col("activity") == "training_completed")
    content = a.filter(pl.col("activity").is_in(["content_viewed", "content_shared"]))
    assert courses["item_id"].str.starts_with("C").all()
    assert content["item_id"].str.starts_with("K").all()
    assert 8 <= courses["item_id"].n_unique() <= 15
    assert 20 <= content["item_id"].n_unique() <= 30
    # One name per item.
    assert (
        a.filter(pl.col("item_id").is_not_null())
        .group_by("item_id")
        .agg(pl.col("item_name").n_unique())["item_name"]
        .max()
        == 1
    )


def test_one_to_ten_users_more_for_productive_partners(demo: Tables) -> None:
    users = demo["partner_users"].group_by("partner_id").agg(n=pl.len())
    assert users.height == demo["partners"].height
    assert users["n"].min() >= 1 and users["n"].max() <= 10
    revenue = (
        demo["deals"]
        .filter(pl.col("status") == "won")
        .group_by("partner_id")
        .agg(revenue=(pl.col("amount") + 12 * pl.col("mrr").fill_null(0.0)).sum())
    )
    both = users.join(revenue, on="partner_id", how="left").fill_null(0)
    producers = both.filter(pl.col("revenue") > 0)["n"].mean()
    others = both.filter(pl.col("revenue") == 0)["n"].mean()
    assert producers > others + 0.5, (producers, others)
    names = demo["partner_users"]["user_name"]
    assert names.str.contains(r"^\S+ \S+").all() and names.n_unique() > 100


# --- the story -----------------------------------------------------------------------------


def test_readme_story_the_demo_tripled_while_revenue_grew_about_40_percent(demo: Tables) -> None:
    # README: "it tripled in partner count over two years while monthly won revenue grew
    # about 40%"; the sentence has to change when this fails.
    partners, revenue = growth(demo)
    assert 2.8 <= partners <= 3.2, partners
    assert 1.35 <= revenue <= 1.45, revenue


def test_larger_program_tripled_while_revenue_grew_about_30_percent(demo_1000: Tables) -> None:
    partners, revenue = growth(demo_1000)
    assert 2.8 <= partners <= 3.2, partners
    assert 1.2 <= revenue <= 1.4, revenue


def test_older_partners_bring_most_of_the_revenue(demo: Tables) -> None:
    k = window_kpis(demo)
    founding = k.filter(pl.col("joined_on") <= TWO_YEARS_BEFORE)
    assert 0.25 <= founding.height / k.height <= 0.42
    share = founding["revenue"].sum() / k["revenue"].sum()
    assert share > 0.45, share  # about 0.55-0.6 at scale, from a third of the partners
    newer = k.filter(pl.col("joined_on") > TWO_YEARS_BEFORE)
    per_partner = founding["revenue"].mean() / newer["revenue"].mean()
    assert per_partner > 1.6, per_partner
    # Most newer partners bring little: the median newcomer won nothing this quarter.
    assert newer["revenue"].median() < 5_000


def test_top_fifth_of_partners_hold_most_revenue(demo: Tables) -> None:
    for days in (90, 365):
        share = top_share(window_kpis(demo, DEMO_END, days)["revenue"])
        assert 0.62 <= share <= 0.85, (days, share)


def test_activation_share_with_default_thresholds(demo: Tables) -> None:
    k = window_kpis(demo)
    pct = 100 * k["activated"].mean()
    assert 30 <= pct <= 45, pct
    # Each behaviour on its own is done by about half of the partners at most.
    for col in ("trainings", "content_shares", "deals_registered"):
        assert 0.35 <= (k[col] >= 1).mean() <= 0.65, col


def test_activation_was_higher_before_the_program_grew(demo_1000: Tables) -> None:
    now = window_kpis(demo_1000, DEMO_END)["activated"].mean()
    then = window_kpis(demo_1000, TWO_YEARS_BEFORE)["activated"].mean()
    assert then > now + 0.05, (then, now)


def test_login_only_partners_exist(demo: Tables) -> None:
    k = window_kpis(demo)
    login_only = k.filter(
        (pl.col("logins") >= 3)
        & (pl.col("trainings") + pl.col("content_shares") + pl.col("content_views") == 0)
        & (pl.col("deals_registered") == 0)
    )
    assert 0.08 <= login_only.height / k.height <= 0.30, login_only.height
    silent = k.filter(pl.col("logins") == 0)
    assert silent.height / k.height >= 0.10


def test_revenue_levels_are_believable(demo: Tables) -> None:
    k = window_kpis(demo)
    big = (k["revenue"] >= 50_000).mean()
    assert 0.06 <= big <= 0.22, big
    activated = k.filter(pl.col("activated"))
    producing = activated.filter(pl.col("revenue") > 0)["revenue"]
    assert 10_000 <= producing.median() <= 100_000, producing.median()
    assert (producing >= 50_000).mean() >= 0.15


def test_deal_mix(demo: Tables) -> None:
    d = demo["deals"]
    status = d["status"].value_counts(normalize=True)
    share = dict(zip(status["status"], status["proportion"], strict=True))
    assert 0.35 <= share["won"] <= 0.50, share
    assert 0.20 <= share["lost"] <= 0.35, share
    assert 0.20 <= share["open"] <= 0.40, share
    # Deals still open right before DEMO_END are mostly open.
    recent = d.filter(pl.col("registered_on") > DEMO_END - timedelta(days=14))
    assert (recent["status"] == "open").all()
    amount = d["amount"]
    assert 1_000 <= amount.quantile(0.1) and amount.quantile(0.9) <= 80_000
    assert amount.quantile(0.99) > 5 * amount.median()  # heavy tail
    won = d.filter(pl.col("status") == "won")
    recurring = won.filter(pl.col("mrr").fill_null(0.0) > 0)
    assert 0.35 <= recurring.height / won.height <= 0.45
    assert recurring["mrr"].min() >= 200 and recurring["mrr"].max() <= 5_000
    churn = recurring["churned_on"].is_not_null().mean()
    assert 0.12 <= churn <= 0.23, churn


def test_investments_uneven_with_cost_but_no_revenue(demo: Tables) -> None:
    inv = demo["investments"]
    assert inv["amount"].min() >= 500 and inv["amount"].max() <= 50_000
    assert set(inv["category"].unique()) == {"mdf", "incentive", "enablement", "spiff", "other"}
    funded = inv["partner_id"].n_unique() / demo["partners"].height
    assert 0.2 <= funded <= 0.6, funded
    k = window_kpis(demo)
    wasted = k.filter((pl.col("cost") > 0) & (pl.col("revenue") == 0))
    assert wasted.height >= 5
    assert k["cost"].sum() > 0 and k["revenue"].sum() > k["cost"].sum()
    roi = k.filter(pl.col("cost") > 0).select((pl.col("revenue") - pl.col("cost")) / pl.col("cost"))
    assert roi.to_series().min() == -1.0 and roi.to_series().max() > 5
