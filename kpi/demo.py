"""Synthetic demo dataset for Channel KPI Explorer.

`generate` builds the five input tables of the data contract (see SPEC.md) for a fictional
B2B software vendor that sells through resellers, referral partners, MSPs and system
integrators. Everything is derived from a seeded numpy generator: no clock, no network,
the same (n_partners, seed) always gives the same frames.

All work is vectorised (numpy + Polars): there is no Python loop per partner, deal or
activity, so large programs stay cheap to build (figures in benchmarks/README.md).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

DEMO_END: date = date(2026, 10, 31)
"""Last day of the demo history (fixed, never the clock)."""

_SOURCE_PREFIX = "demo partners="


def source_text(n_partners: int, seed: int) -> str:
    """How a load of the demo names its source in the database (`is_demo` reads it back)."""
    return f"{_SOURCE_PREFIX}{n_partners} seed={seed}"


def is_demo(source: str) -> bool:
    """Whether a load's source is the demo generator: the app then says the data is the demo."""
    return source.startswith(_SOURCE_PREFIX)


_EPOCH = date(1970, 1, 1)
_END = (DEMO_END - _EPOCH).days
# Two years before DEMO_END: partners who joined on or before this day are "founding".
_T0 = (date(2024, 10, 31) - _EPOCH).days
# Activities, deals and investments are recorded from here (two years and seven months),
# so deals closing in the 90 days before _T0 are complete and comparable with today.
_HISTORY_START = (date(2024, 4, 1) - _EPOCH).days
_FOUNDING_FROM = (date(2021, 1, 1) - _EPOCH).days

_FOUNDING_SHARE = 0.31
# Productivity (deal size) spread between partners, and how much smaller the deals and the
# deal flow of partners who joined in the last two years are.
_PRODUCTIVITY_SIGMA = 0.4
_NEW_PRODUCTIVITY = 0.6
_NEW_DEAL_RATE = 0.8
# Founding partners' deal flow eases off by this share over the last two years.
_FOUNDING_FADE = 0.35
_DEAL_MEDIAN = 14000.0
_DEAL_SIGMA = 0.6
_LEFT_SHARE = 0.07

# --- partner archetypes -------------------------------------------------------------------
_ARCHETYPES = ("champion", "engaged", "casual", "login_only", "dormant")
# Share of each archetype among founding partners and among those who joined later:
# the old guard is more productive; most newcomers sign up and do little.
_MIX_FOUNDING = np.array([0.22, 0.38, 0.18, 0.10, 0.12])
_MIX_NEW = np.array([0.07, 0.26, 0.21, 0.175, 0.285])

# Events per 30 days for a partner with multipliers 1, by archetype (order of _ARCHETYPES).
_RATE_LOGIN = np.array([5.6, 3.4, 1.9, 2.9, 0.22])
_RATE_VIEW = np.array([2.8, 1.6, 0.6, 0.0, 0.04])
_RATE_SHARE = np.array([1.8, 0.9, 0.25, 0.0, 0.0])
_RATE_TRAINING = np.array([1.2, 0.6, 0.2, 0.0, 0.01])
_RATE_DEAL = np.array([3.3, 2.4, 0.9, 0.0, 0.015])
# Deal outcomes by archetype: probability won, lost (the rest stalls as open).
_P_WON = np.array([0.52, 0.44, 0.36, 0.30, 0.25])
_P_LOST = np.array([0.27, 0.30, 0.34, 0.36, 0.40])
# Users per partner: lower and upper bound (inclusive) before the productivity bonus.
_USERS_LO = np.array([3, 2, 1, 1, 1])
_USERS_HI = np.array([8, 6, 4, 3, 2])
# Relative chance of leaving the program and of receiving investments.
_LEAVE_WEIGHT = np.array([0.15, 0.4, 1.2, 1.8, 3.0])
_P_FUNDED = np.array([0.85, 0.62, 0.38, 0.30, 0.22])
_RATE_INVEST = np.array([0.8, 0.5, 0.3, 0.28, 0.2])  # per 30 days, when funded

_REGIONS = ("North America", "EMEA", "APAC", "LATAM")
_P_REGION = np.array([0.42, 0.33, 0.16, 0.09])
_PARTNER_TYPES = ("reseller", "referral", "msp", "system_integrator")
_P_TYPE = np.array([0.40, 0.25, 0.20, 0.15])
# Deal size multiplier by partner type: integrators run big projects, referrals small ones.
_TYPE_SIZE = np.array([1.0, 0.7, 0.9, 1.4])
_CHANNEL_MANAGERS = (
    "Alicia Moreno",
    "Ben Okafor",
    "Chloe Dubois",
    "David Lindqvist",
    "Emma Schultz",
    "Farid Haddad",
    "Grace Tanaka",
    "Hugo Ferreira",
)

_NAME_A = (
    "Apex", "Blue Harbor", "Brightline", "Cedar", "Cobalt", "Crestview", "Delta", "Evergreen",
    "Falcon", "Granite", "Harbor", "Horizon", "Ironwood", "Keystone", "Lakeside", "Lighthouse",
    "Meridian", "Northwind", "Nova", "Oakridge", "Pinnacle", "Quantum", "Redwood", "Riverbend",
    "Silverline", "Summit", "Sterling", "Trident", "Vertex", "Westbrook", "Zenith", "Atlas",
)  # fmt: skip
_NAME_B = (
    "Systems", "Solutions", "IT", "Technologies", "Consulting", "Networks", "Data", "Cloud",
    "Digital", "Partners", "Group", "Software", "Integrations", "Managed Services", "Labs",
    "Computing",
)  # fmt: skip
_NAME_SUFFIX = (
    "",
    "",
    "",
    " Inc.",
    " Ltd",
    " GmbH",
    " LLC",
    " AG",
    " B.V.",
    " Pty Ltd",
)

_FIRST_NAMES = (
    "Anna", "Carlos", "Daniel", "Elena", "Fatima", "George", "Hannah", "Ivan", "Julia",
    "Kenji", "Laura", "Marco", "Nadia", "Oliver", "Priya", "Rafael", "Sara", "Thomas",
    "Uma", "Victor", "Wei", "Yara", "Zoe", "Lucas", "Mia", "Noah", "Olga", "Pedro",
    "Sofia", "Tariq",
)  # fmt: skip
_LAST_NAMES = (
    "Anderson", "Becker", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ito",
    "Jensen", "Kowalski", "Lopez", "Müller", "Nguyen", "O'Brien", "Patel", "Rossi", "Silva",
    "Smith", "Tanaka", "Novak", "Williams", "Kim", "Martin", "Ahmed", "Costa", "Berg",
    "Murphy",
)  # fmt: skip
_ROLES = ("sales", "presales", "marketing", "admin")
_P_ROLE = np.array([0.45, 0.22, 0.18, 0.15])

_COURSES = (
    ("C01", "Product Fundamentals"),
    ("C02", "Selling the Platform"),
    ("C03", "Deal Registration 101"),
    ("C04", "Technical Deep Dive: Integrations"),
    ("C05", "Security & Compliance Essentials"),
    ("C06", "Pricing and Packaging"),
    ("C07", "Demo Masterclass"),
    ("C08", "Implementation Certification"),
    ("C09", "Competitive Positioning"),
    ("C10", "Customer Success Playbook"),
    ("C11", "Managed Service Offering"),
    ("C12", "Advanced Administration"),
)
_CONTENT = (
    ("K01", "Product overview deck"),
    ("K02", "Platform datasheet"),
    ("K03", "Customer case study: retail"),
    ("K04", "Customer case study: healthcare"),
    ("K05", "Customer case study: manufacturing"),
    ("K06", "Co-branded email campaign kit"),
    ("K07", "Co-branded ROI calculator"),
    ("K08", "Co-branded webinar invitation"),
    ("K09", "Competitive battlecard"),
    ("K10", "Security whitepaper"),
    ("K11", "Analyst report excerpt"),
    ("K12", "Pricing one-pager"),
    ("K13", "Solution brief: finance"),
    ("K14", "Solution brief: public sector"),
    ("K15", "Demo video: 5-minute tour"),
    ("K16", "Co-branded social media pack"),
    ("K17", "Migration guide"),
    ("K18", "Integration catalogue"),
    ("K19", "Customer testimonial video"),
    ("K20", "Co-branded event kit"),
    ("K21", "Buyer's guide e-book"),
    ("K22", "Total cost of ownership study"),
    ("K23", "Quarterly product update"),
    ("K24", "Objection handling guide"),
    ("K25", "Co-branded landing page template"),
)
_KINDS = ("login", "training_completed", "content_viewed", "content_shared")

_CATEGORIES = ("mdf", "incentive", "enablement", "spiff", "other")
_P_CATEGORY = np.array([0.30, 0.22, 0.22, 0.16, 0.10])
_CATEGORY_MEDIAN = np.array([7000.0, 3000.0, 2500.0, 1500.0, 1200.0])


def _allocate(rng: np.random.Generator, n: int, shares: np.ndarray) -> np.ndarray:
    """Exactly proportional labels (largest remainder), in random order."""
    raw = shares / shares.sum() * n
    counts = np.floor(raw).astype(np.int64)
    rest = n - counts.sum()
    if rest > 0:
        counts[np.argsort(-(raw - counts), kind="stable")[:rest]] += 1
    return rng.permutation(np.repeat(np.arange(len(shares)), counts))


def _popularity(k: int, power: float) -> np.ndarray:
    p = 1.0 / np.arange(1, k + 1) ** power
    return p / p.sum()


def _events(
    rng: np.random.Generator,
    rate_per_day: np.ndarray,
    start: np.ndarray,
    days: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson events per partner, uniform over each partner's active days.

    Returns (partner index, day number) arrays.
    """
    counts = rng.poisson(np.maximum(rate_per_day, 0.0) * days)
    idx = np.repeat(np.arange(len(days)), counts)
    day = start[idx] + np.floor(rng.random(idx.size) * days[idx]).astype(np.int64)
    return idx, day


def _date_series(name: str, days: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    s = pl.Series(name, days.astype(np.int32)).cast(pl.Date)
    if valid is None:
        return s
    return pl.select(pl.when(pl.Series(valid)).then(s).otherwise(None).alias(name)).to_series()


def _money(values: np.ndarray) -> np.ndarray:
    return np.round(values.astype(np.float64), 2)


def _pick(labels: tuple[str, ...], idx: np.ndarray, name: str) -> pl.Series:
    return pl.Series(name, labels, dtype=pl.String).gather(idx)


def _ids(prefix: str, n: int, width: int) -> pl.Series:
    w = max(width, len(str(n)))
    nums = pl.Series(np.arange(1, n + 1), dtype=pl.Int64).cast(pl.String).str.zfill(w)
    return (prefix + nums).alias("id")


def generate(n_partners: int = 300, seed: int = 7) -> dict[str, pl.DataFrame]:
    """Build the demo dataset: the five input tables of SPEC.md, keyed by table name.

    The story it tells: a B2B software vendor has grown its partner program fast, but
    revenue has not kept pace.

    - About a third of today's partners are founding partners (joined 2021 to late 2024);
      the rest joined in the last two years, so the program has roughly tripled in 24
      months, while monthly won revenue grew only about 40% in the default demo (300
      partners, seed 7) and about 30% in larger programs: the founding partners' deal
      flow eases off and most newcomers bring little (smaller deals, slow ramp-up).
      Monthly won revenue here is the deal value (amount + 12 x mrr) of the deals won in
      the 90 days ending at a date, over three; compared at `DEMO_END` and 24 months
      earlier.
    - Only about half of the partners do the behaviours that matter (complete training,
      share co-branded content, register deals). With a 90-day window ending `DEMO_END`
      and one of each required, roughly 40% of the population is activated (about half
      two years earlier). Many others only log in, or have gone dormant; 7% have left.
    - Revenue is concentrated: heavy-tailed productivity puts about three quarters of won
      revenue with the top 20% of partners; about one partner in eight wins 50,000 or
      more in deal value in the last 90 days.
    - Investments (MDF, incentives, enablement, SPIFFs) are uneven: many small partners
      get nothing, and some idle partners got sizeable MDF and returned no revenue.

    History runs from 2024-04-01 to `DEMO_END` (the latest activity date). The same
    (n_partners, seed) always gives identical frames; row counts scale linearly, about
    100 activities, 20 deals, 3 users and 4 investments per partner.

    Returns a dict with keys "partners", "partner_users", "activities", "deals" and
    "investments", each with exactly the contract's columns: text as pl.String, dates as
    pl.Date, `occurred_at` as pl.Datetime("us") (naive, with a time of day), money as
    pl.Float64 rounded to cents, absent optional values as null.
    """
    return _simulate(n_partners, seed)[0]


def _simulate(n_partners: int, seed: int) -> tuple[dict[str, pl.DataFrame], dict[str, np.ndarray]]:
    """The generator behind `generate`; also returns the hidden per-partner traits
    (archetype, founding flag, multipliers), indexed like the partners table, for tuning."""
    if n_partners < 1:
        raise ValueError("n_partners must be at least 1")
    rng = np.random.default_rng(seed)
    n = int(n_partners)

    # --- partners ---------------------------------------------------------------------------
    n_found = int(round(_FOUNDING_SHARE * n))
    founding = rng.permutation(np.arange(n) < n_found)
    arch = np.empty(n, dtype=np.int64)
    arch[founding] = _allocate(rng, int(founding.sum()), _MIX_FOUNDING)
    arch[~founding] = _allocate(rng, int((~founding).sum()), _MIX_NEW)

    # Founding partners spread evenly over 2021 to late 2024; the rest join over the last
    # two years at a steady pace.
    u = rng.random(n)
    joined = np.where(
        founding,
        _FOUNDING_FROM + np.floor(u * (_T0 - _FOUNDING_FROM + 1)),
        _T0 + 1 + np.floor(u * (_END - _T0)),
    ).astype(np.int64)

    # Leavers: mostly dormant / login-only partners, at least 60 days after joining.
    left = np.full(n, -1, dtype=np.int64)
    leave_lo = np.maximum(joined + 60, _HISTORY_START)
    can_leave = leave_lo <= _END
    n_left = min(int(round(_LEFT_SHARE * n)), int(can_leave.sum()))
    if n_left > 0:
        w = _LEAVE_WEIGHT[arch] * can_leave
        who = rng.choice(n, size=n_left, replace=False, p=w / w.sum())
        left[who] = leave_lo[who] + np.floor(rng.random(n_left) * (_END - leave_lo[who] + 1))
    has_left = left >= 0

    region = _allocate(rng, n, _P_REGION)
    ptype = rng.choice(len(_PARTNER_TYPES), size=n, p=_P_TYPE)
    manager = rng.integers(0, len(_CHANNEL_MANAGERS), size=n)

    # Per-partner multipliers: engagement (how much they do) and productivity (deal size).
    engage = rng.lognormal(0.0, 0.35, size=n)
    productivity = (
        rng.lognormal(0.0, _PRODUCTIVITY_SIGMA, size=n) * _TYPE_SIZE[ptype] * np.where(founding, 1.0, _NEW_PRODUCTIVITY)
    )

    # Active interval for events: from max(joined, history start) to the day before leaving.
    start = np.maximum(joined, _HISTORY_START)
    stop = np.where(has_left, left - 1, _END)
    days = stop - start + 1  # >= 1: leaving is at least 60 days after joining

    partner_ids = _ids("P", n, 5)
    names_a = rng.integers(0, len(_NAME_A), size=n)
    names_b = rng.integers(0, len(_NAME_B), size=n)
    names_s = rng.integers(0, len(_NAME_SUFFIX), size=n)
    partner_name = pl.select(
        pl.concat_str(
            _pick(_NAME_A, names_a, "a"),
            pl.lit(" "),
            _pick(_NAME_B, names_b, "b"),
            _pick(_NAME_SUFFIX, names_s, "s"),
        ).alias("partner_name")
    ).to_series()
    partners = pl.DataFrame(
        [
            partner_ids.alias("partner_id"),
            partner_name,
            _date_series("joined_on", joined),
            _date_series("left_on", left, has_left),
            _pick(_REGIONS, region, "region"),
            _pick(_PARTNER_TYPES, ptype, "partner_type"),
            _pick(_CHANNEL_MANAGERS, manager, "channel_manager"),
        ]
    )

    # --- partner users ----------------------------------------------------------------------
    lo, hi = _USERS_LO[arch], _USERS_HI[arch]
    n_users = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)
    n_users = np.clip(n_users + (productivity > 2.0) + (productivity > 4.0), 1, 10)
    user_offset = np.concatenate([[0], np.cumsum(n_users)[:-1]])
    n_user_rows = int(n_users.sum())
    user_partner = np.repeat(np.arange(n), n_users)
    first = rng.integers(0, len(_FIRST_NAMES), size=n_user_rows)
    last = rng.integers(0, len(_LAST_NAMES), size=n_user_rows)
    role = rng.choice(len(_ROLES), size=n_user_rows, p=_P_ROLE)
    user_ids = _ids("U", n_user_rows, 6)
    user_name = pl.select(
        pl.concat_str(_pick(_FIRST_NAMES, first, "f"), pl.lit(" "), _pick(_LAST_NAMES, last, "l")).alias("user_name")
    ).to_series()
    partner_users = pl.DataFrame(
        [
            user_ids.alias("user_id"),
            partner_ids.gather(user_partner).alias("partner_id"),
            user_name,
            _pick(_ROLES, role, "role"),
        ]
    )

    # --- activities -------------------------------------------------------------------------
    # More staff means more logins and views; weekends are quiet (compensated in the rate).
    staff = np.sqrt(n_users / 3.0)
    weekend_keep = 0.2
    per_day = engage / 30.0 * 7.0 / (5.0 + 2.0 * weekend_keep)
    parts_idx, parts_day, parts_kind = [], [], []
    for kind, rates, scale in (
        (0, _RATE_LOGIN, staff),
        (1, _RATE_TRAINING, staff**0.5),
        (2, _RATE_VIEW, staff),
        (3, _RATE_SHARE, staff**0.5),
    ):
        idx, day = _events(rng, rates[arch] * scale * per_day, start, days)
        parts_idx.append(idx)
        parts_day.append(day)
        parts_kind.append(np.full(idx.size, kind, dtype=np.int8))
    a_idx = np.concatenate(parts_idx)
    a_day = np.concatenate(parts_day)
    a_kind = np.concatenate(parts_kind)
    weekday = (a_day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    keep = (weekday < 5) | (rng.random(a_day.size) < weekend_keep)
    a_idx, a_day, a_kind = a_idx[keep], a_day[keep], a_kind[keep]
    m = a_idx.size

    # Make sure the history reaches DEMO_END: if no activity falls on it, move the latest
    # activity of a partner still in the program there.
    present = ~has_left[a_idx]
    if m and present.any() and not (a_day == _END).any():
        cand = np.flatnonzero(present)
        a_day[cand[np.argmax(a_day[cand])]] = _END

    seconds = np.clip(rng.normal(13.0 * 3600, 2.8 * 3600, size=m), 6 * 3600, 22 * 3600 - 1)
    occurred = a_day * 86_400_000_000 + seconds.astype(np.int64) * 1_000_000

    # Mostly the partner's main contacts act; a few percent of events have no user.
    pick = np.floor(rng.random(m) ** 1.6 * n_users[a_idx]).astype(np.int64)
    user_row = user_offset[a_idx] + pick
    user_known = rng.random(m) >= 0.03

    course = rng.choice(len(_COURSES), size=m, p=_popularity(len(_COURSES), 0.7))
    content = rng.choice(len(_CONTENT), size=m, p=_popularity(len(_CONTENT), 0.5))
    item = np.where(a_kind == 1, course, len(_COURSES) + content)
    has_item = a_kind != 0
    item_ids = tuple(c[0] for c in _COURSES) + tuple(c[0] for c in _CONTENT)
    item_names = tuple(c[1] for c in _COURSES) + tuple(c[1] for c in _CONTENT)

    order = np.lexsort((a_idx, occurred))
    a_idx, a_kind, occurred = a_idx[order], a_kind[order], occurred[order]
    user_row, user_known = user_row[order], user_known[order]
    item, has_item = item[order], has_item[order]

    activities = pl.DataFrame(
        [
            partner_ids.gather(a_idx).alias("partner_id"),
            user_ids.gather(user_row).alias("user_id"),
            pl.Series("occurred_at", occurred).cast(pl.Datetime("us")),
            _pick(_KINDS, a_kind, "activity"),
            _pick(item_ids, item, "item_id"),
            _pick(item_names, item, "item_name"),
        ]
    ).with_columns(
        pl.when(pl.Series(user_known)).then(pl.col("user_id")).alias("user_id"),
        pl.when(pl.Series(has_item)).then(pl.col("item_id")).alias("item_id"),
        pl.when(pl.Series(has_item)).then(pl.col("item_name")).alias("item_name"),
    )

    # --- deals ------------------------------------------------------------------------------
    deal_rate = _RATE_DEAL[arch] * engage * np.where(founding, 1.0, _NEW_DEAL_RATE) / 30.0
    d_idx, d_reg = _events(rng, deal_rate, start, days)
    # New partners ramp up: few registrations in their first months; the founding partners'
    # deal flow slowly eases off over the last two years.
    tenure = d_reg - joined[d_idx]
    ramp = np.clip(0.2 + tenure / 180.0, 0.0, 1.0)
    fade = np.clip((d_reg - _T0) / (_END - _T0), 0.0, 1.0) * _FOUNDING_FADE
    ramp = ramp * np.where(founding[d_idx], 1.0 - fade, 1.0)
    keep = rng.random(d_idx.size) < ramp
    d_idx, d_reg = d_idx[keep], d_reg[keep]
    k = d_idx.size

    delay = np.minimum(14 + np.floor(rng.gamma(2.0, 17.0, size=k)), 120).astype(np.int64)
    r = rng.random(k)
    outcome = np.where(r < _P_WON[arch[d_idx]], 1, np.where(r < (_P_WON + _P_LOST)[arch[d_idx]], 2, 0))
    close = d_reg + delay
    outcome = np.where(close > _END, 0, outcome)  # not decided yet
    closed_set = outcome != 0

    subscription = rng.random(k) < 0.40
    size = productivity[d_idx] * rng.lognormal(np.log(_DEAL_MEDIAN), _DEAL_SIGMA, size=k)
    amount = np.where(subscription, 0.5 * size, size)
    amount = np.where(subscription & (rng.random(k) < 0.08), 0.0, amount)
    amount = np.clip(np.round(amount, -1), 0.0, 750_000.0)
    mrr_val = np.clip(
        np.round(productivity[d_idx] ** 0.5 * rng.lognormal(np.log(700.0), 0.7, size=k)),
        200.0,
        5000.0,
    )
    mrr = np.where(subscription, mrr_val, 0.0)
    mrr_known = subscription | (rng.random(k) < 0.5)

    # Some won subscriptions churn later (at least 30 days after closing).
    churn_lo = close + 30
    churned = (outcome == 1) & subscription & (churn_lo <= _END) & (rng.random(k) < 0.18)
    churn_day = churn_lo + np.floor(rng.random(k) * np.maximum(_END - churn_lo + 1, 1)).astype(np.int64)

    order = np.lexsort((d_idx, d_reg))
    d_idx, d_reg, outcome, close = (
        d_idx[order],
        d_reg[order],
        outcome[order],
        close[order],
    )
    closed_set, amount, mrr, mrr_known = (
        closed_set[order],
        amount[order],
        mrr[order],
        mrr_known[order],
    )
    churned, churn_day = churned[order], churn_day[order]

    deals = pl.DataFrame(
        [
            _ids("D", k, 6).alias("deal_id"),
            partner_ids.gather(d_idx).alias("partner_id"),
            _date_series("registered_on", d_reg),
            _pick(("open", "won", "lost"), outcome, "status"),
            _date_series("closed_on", close, closed_set),
            pl.Series("amount", _money(amount)),
            pl.Series("mrr", _money(mrr)),
            _date_series("churned_on", churn_day, churned),
        ]
    ).with_columns(pl.when(pl.Series(mrr_known)).then(pl.col("mrr")).alias("mrr"))

    # --- investments ------------------------------------------------------------------------
    # Funding is uneven: productive partners are funded more often, but some idle partners
    # received big MDF budgets and many small partners get nothing.
    funded = rng.random(n) < _P_FUNDED[arch] * np.where(founding, 1.0, 0.7)
    big_mdf = funded & (arch >= 2) & (rng.random(n) < 0.25)
    inv_rate = np.where(funded, _RATE_INVEST[arch], 0.0) / 30.0
    i_idx, i_day = _events(rng, inv_rate, start, days)
    j = i_idx.size
    cat = rng.choice(len(_CATEGORIES), size=j, p=_P_CATEGORY)
    cat = np.where(big_mdf[i_idx] & (rng.random(j) < 0.7), 0, cat)
    median = _CATEGORY_MEDIAN[cat] * np.where(big_mdf[i_idx] & (cat == 0), 3.0, 1.0)
    inv_amount = np.clip(np.round(median * rng.lognormal(0.0, 0.7, size=j), -1), 500.0, 50_000.0)
    order = np.lexsort((i_idx, i_day))
    i_idx, i_day, cat, inv_amount = (
        i_idx[order],
        i_day[order],
        cat[order],
        inv_amount[order],
    )
    investments = pl.DataFrame(
        [
            partner_ids.gather(i_idx).alias("partner_id"),
            _date_series("spent_on", i_day),
            _pick(_CATEGORIES, cat, "category"),
            pl.Series("amount", _money(inv_amount)),
        ]
    )

    tables = {
        "partners": partners,
        "partner_users": partner_users,
        "activities": activities,
        "deals": deals,
        "investments": investments,
    }
    traits = {
        "archetype": np.asarray(_ARCHETYPES)[arch],
        "founding": founding,
        "engagement": engage,
        "productivity": productivity,
    }
    return tables, traits
