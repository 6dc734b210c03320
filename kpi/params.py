"""The one parameters object of the product, the `View`, and every link parameter.

The URL, the sidebar widgets and the CLI describe a view with the same nine parameters
(SPEC "Shared links"); pages add their own view state (a grouping, a tab, a ranking, the
partner picked, the Tiers list's filters, sort and page). Every one of them is declared once
below as a `ParamSpec`, and raw text from a query string or the command line is turned into
typed values by one parser, `parse_params` (kpi.paramspec), which names every value it refuses.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields
from datetime import date

from kpi.paramspec import (  # noqa: F401  (the parser, named here for every caller)
    Known,
    ParamError,
    ParamKind,
    ParamProblem,
    ParamSpec,
    RawParams,
    format_param,
    parse_params,
    parse_value,
)

PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "as_of",
        "As-of date",
        "date",
        None,
        None,
        None,
        1,
        "The day the view is computed for. Default: the latest activity or deal date in the data.",
    ),
    ParamSpec(
        "window_days",
        "Lookback window (days)",
        "int",
        90,
        1,
        730,
        1,
        "Behaviours, deals won, revenue and cost are counted over the window days ending on the as-of date.",
    ),
    ParamSpec(
        "min_trainings",
        "Trainings needed",
        "int",
        1,
        0,
        20,
        1,
        "Courses completed in the window for the training criterion. 0 switches the criterion off.",
    ),
    ParamSpec(
        "min_shares",
        "Content shares needed",
        "int",
        1,
        0,
        20,
        1,
        "Co-branded content shared in the window for the content criterion. 0 switches it off.",
    ),
    ParamSpec(
        "min_deals",
        "Deal registrations needed",
        "int",
        1,
        0,
        20,
        1,
        "Deals registered in the window for the deal criterion. 0 switches it off.",
    ),
    ParamSpec(
        "min_criteria",
        "Criteria a partner must meet",
        "int",
        3,
        0,
        3,
        1,
        "How many of the switched-on criteria make a partner activated. More than are switched on means all of them.",
    ),
    ParamSpec(
        "reward_min_revenue",
        "Reward: revenue at least",
        "money",
        50_000.0,
        0.0,
        1_000_000_000.0,
        5_000.0,
        "An activated partner with at least this revenue in the window is in the reward tier.",
    ),
    ParamSpec(
        "drop_max_actions",
        "Drop: actions at most",
        "int",
        2,
        0,
        1_000,
        1,
        "A partner that is not activated, has no revenue and at most this many actions "
        "(trainings + shares + views + deal registrations) is a drop candidate.",
    ),
    ParamSpec(
        "grace_days",
        "Grace period for new partners (days)",
        "int",
        90,
        0,
        3_650,
        1,
        "Partners who joined fewer than this many days before the as-of date are never dropped.",
    ),
)

THRESHOLDS: tuple[str, ...] = (
    "min_trainings",
    "min_shares",
    "min_deals",
    "min_criteria",
    "reward_min_revenue",
    "drop_max_actions",
    "grace_days",
)
"""The view's thresholds: every parameter but the as-of date and the window, which pick the
facts. What a saved scenario holds (kpi.scenarios) and what `sensitivity` can vary."""


TIERS_SORTS: tuple[tuple[str, str], ...] = (
    ("revenue", "Revenue"),
    ("roi", "ROI"),
    ("mrr", "MRR"),
    ("cost", "Cost"),
    ("tier", "Tier"),
    ("criteria_met", "Criteria met"),
    ("trainings", "Trainings"),
    ("content_shares", "Shares"),
    ("content_views", "Views"),
    ("logins", "Logins"),
    ("active_users", "Active staff"),
    ("deals_registered", "Deals registered"),
    ("deals_won", "Deals won"),
    ("partner_name", "Partner name"),
    ("partner_id", "Partner ID"),
)
"""What the Tiers list can be sorted by: column -> the label its control and its link show."""

# The Tiers list's view: its filters, search, sort and page. Regions, types and managers come
# from the data, so they are text, checked against the data's values where the page knows them.
_TIERS_LIST_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "tiers_tier",
        "Tier",
        "choice",
        (),
        None,
        None,
        1,
        "Show only these tiers (none chosen: every tier).",
        choices=(("reward", "reward"), ("nurture", "nurture"), ("drop", "drop")),
        multiple=True,
    ),
    ParamSpec("tiers_region", "Region", "text", (), None, None, 1, "Show only these regions.", multiple=True),
    ParamSpec("tiers_type", "Partner type", "text", (), None, None, 1, "Show only these partner types.", multiple=True),
    ParamSpec(
        "tiers_manager",
        "Channel manager",
        "text",
        (),
        None,
        None,
        1,
        "Show only the partners of these channel managers.",
        multiple=True,
    ),
    ParamSpec("tiers_search", "Search partner name", "text", "", None, None, 1, "Part of a partner's name, any case."),
    ParamSpec(
        "tiers_sort",
        "Sort by",
        "choice",
        "revenue",
        None,
        None,
        1,
        "The column the list is sorted by; ties keep partner-name order.",
        choices=TIERS_SORTS,
    ),
    ParamSpec(
        "tiers_order",
        "Order",
        "choice",
        "descending",
        None,
        None,
        1,
        "Highest first or lowest first; empty values last either way.",
        choices=(("descending", "Descending"), ("ascending", "Ascending")),
    ),
    ParamSpec("tiers_page", "Page", "int", 1, 1, 100_000, 1, "The page of the list shown."),
)

# The What-if page's other view state: which of its editing tabs is open, and the evidence of
# the suggestions (whether it is open, and which threshold's).
_WHATIF_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "whatif_edit",
        "Scenario changes",
        "choice",
        "Save the controls",
        None,
        None,
        1,
        "The open tab of the scenario changes: save, or rename, delete and make the policy.",
        choices=(
            ("Save the controls", "Save the controls"),
            ("Rename, delete, make the policy", "Rename, delete, make the policy"),
        ),
    ),
    ParamSpec(
        "whatif_evidence_open",
        "Every candidate threshold, side by side",
        "bool",
        False,
        None,
        None,
        1,
        "Whether the suggestions' evidence is open.",
        choices=(("true", "open"), ("false", "closed")),  # how a notice names the value; links write true/false
    ),
    ParamSpec(
        "whatif_evidence",
        "Evidence for",
        "choice",
        "Trainings needed",
        None,
        None,
        1,
        "The threshold whose candidate values the evidence shows.",
        choices=(
            ("Trainings needed", "Trainings needed"),
            ("Content shares needed", "Content shares needed"),
            ("Deal registrations needed", "Deal registrations needed"),
        ),
    ),
)


PAGE_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "tiers_tab",
        "Tiers view",
        "choice",
        "Partner list",
        None,
        None,
        1,
        "The Tiers page's open tab.",
        choices=(("Partner list", "Partner list"), ("Engagement chart", "Engagement chart")),
    ),
    *_TIERS_LIST_PARAMS,
    ParamSpec(
        "whatif_tab",
        "What-if view",
        "choice",
        "Scenarios",
        None,
        None,
        1,
        "The What-if page's open tab.",
        choices=(
            ("Scenarios", "Scenarios"),
            ("Where each threshold matters", "Where each threshold matters"),
            ("Suggested thresholds", "Suggested thresholds"),
        ),
    ),
    *_WHATIF_PARAMS,
    ParamSpec(
        "roi_group",
        "Group by",
        "choice",
        "tier",
        None,
        None,
        1,
        "Compare ROI across tiers, regions, partner types or channel managers.",
        choices=(
            ("tier", "Tier"),
            ("region", "Region"),
            ("partner_type", "Partner type"),
            ("channel_manager", "Channel manager"),
        ),
    ),
    ParamSpec(
        "engagement_rank",
        "Rank items by",
        "choice",
        "adopters",
        None,
        None,
        1,
        "How the content and courses table is ordered.",
        choices=(
            ("adopters", "Adopters (partners who shared or completed it)"),
            ("partners", "Partners using it"),
            ("staff", "Staff using it"),
            ("win_rate_lift", "Win-rate lift"),
            ("revenue_ratio", "Revenue per partner ratio"),
        ),
    ),
    ParamSpec(
        "engagement_min_logins",
        "Logins in the window at least",
        "int",
        10,
        1,
        10_000,
        1,
        "A partner that is not activated under the sidebar criteria and logged in at least this often.",
    ),
    ParamSpec(
        "engagement_staff_search",
        "Find staff by partner or person",
        "text",
        "",
        None,
        None,
        1,
        "Part of a partner's or a person's name.",
    ),
    ParamSpec(
        "curves",
        "Curves beside the thresholds",
        "bool",
        False,
        None,
        None,
        1,
        "Under each threshold, a small curve: activation (blue) and the reward, nurture and drop shares "
        "as that threshold moves, the others held; a solid line marks the value now, a dashed one the base's.",
        choices=(("true", "on"), ("false", "off")),  # how a notice names the value; links write true/false
    ),
    ParamSpec(
        "scenario",
        "Scenario",
        "text",
        "",
        None,
        None,
        1,
        "Open a saved scenario: its thresholds fill the controls below, and each can still be moved.",
    ),
    ParamSpec(
        "compare",
        "Compare with",
        "text",
        "",
        None,
        None,
        1,
        "The saved scenario that Overview and Tiers compare the controls with (the policy unless chosen).",
    ),
    ParamSpec(
        "since",
        "Compared with",
        "date",
        None,
        None,
        None,
        1,
        "The earlier date the weekly review compares the as-of date with (default: a week before it).",
    ),
    ParamSpec(
        "scorecard_partner",
        "Partner",
        "text",
        "",
        None,
        None,
        1,
        "Type a partner's name or ID. The link holds the partner (its id, or the picker's \"name (id)\"), "
        "so a link opens this partner.",
    ),
    ParamSpec(
        "engagement_tab",
        "Engagement view",
        "choice",
        "Content and courses",
        None,
        None,
        1,
        "The Engagement page's open tab.",
        choices=(
            ("Content and courses", "Content and courses"),
            ("Staff", "Staff"),
            ("Look busy", "Look busy"),
        ),
    ),
    ParamSpec(
        "roi_tab",
        "ROI view",
        "choice",
        "Month by month",
        None,
        None,
        1,
        "The ROI page's open tab.",
        choices=(
            ("Month by month", "Month by month"),
            ("By group", "By group"),
            ("By category", "By category"),
            ("Partner by partner", "Partner by partner"),
        ),
    ),
    ParamSpec(
        "recurring_tab",
        "Recurring revenue view",
        "choice",
        "Month by month",
        None,
        None,
        1,
        "The Recurring revenue page's open tab.",
        choices=(
            ("Month by month", "Month by month"),
            ("Retention", "Retention"),
            ("By tier and partner", "By tier and partner"),
            ("Concentration", "Concentration"),
        ),
    ),
    ParamSpec(
        "scorecard_tab",
        "Scorecard view",
        "choice",
        "Why this tier",
        None,
        None,
        1,
        "The Partner scorecard page's open tab.",
        choices=(
            ("Why this tier", "Why this tier"),
            ("Month by month", "Month by month"),
            ("Staff", "Staff"),
            ("Tier history", "Tier history"),
        ),
    ),
)
SPEC_BY_NAME: dict[str, ParamSpec] = {spec.name: spec for spec in (*PARAMS, *PAGE_PARAMS)}


@dataclass(frozen=True)
class View:
    """One view of the program: the as-of date, the window and every threshold.

    Always resolved: a view left without an as-of date takes the data's default (the
    latest activity or deal date) when it is parsed, so every calculation can use it.
    """

    as_of: date
    window_days: int = 90
    min_trainings: int = 1
    min_shares: int = 1
    min_deals: int = 1
    min_criteria: int = 3
    reward_min_revenue: float = 50_000.0
    drop_max_actions: int = 2
    grace_days: int = 90

    def previous_window(self) -> View:
        """The same view one window earlier (for "change against the previous window")."""
        return self.replace(as_of=date.fromordinal(self.as_of.toordinal() - self.window_days))

    def replace(self, **changes: object) -> View:
        values = {f.name: getattr(self, f.name) for f in fields(self)} | changes
        return View(**values)  # type: ignore[arg-type]

    def values(self) -> tuple:
        """The view as a plain tuple in field order: a cheap, hashable cache key."""
        return tuple(getattr(self, f.name) for f in fields(self))

    def to_params(self) -> dict[str, str]:
        """The view as query parameters: the as-of date, then the values that differ from the defaults."""
        out = {"as_of": self.as_of.isoformat()}
        for spec in PARAMS[1:]:
            value = getattr(self, spec.name)
            if value != spec.default:
                out[spec.name] = format_param(spec, value)
        return out


APP_NAMES: frozenset[str] = frozenset({"embed", "embed_options"})
"""Link parameters Streamlit reads itself (how an app is embedded): not ours, never refused."""


def unknown_names(raw: RawParams) -> list[ParamProblem]:
    """A problem for each name in `raw` that is no parameter of this app (a misspelling, say),
    naming the parameter it most likely meant."""
    problems = []
    for name, given in raw.items():
        if name in SPEC_BY_NAME or name.lower() in APP_NAMES:
            continue
        text = given if isinstance(given, str) else ", ".join(given or ())
        close = difflib.get_close_matches(name, list(SPEC_BY_NAME), n=1, cutoff=0.75)
        hint = f" (did you mean {close[0]}?)" if close else ""
        problems.append(ParamProblem(name, text, f"not a parameter of this app{hint}", fallback=""))
    return problems


def parse_view(
    raw: RawParams,
    default_as_of: date | None,
    date_bounds: tuple[date, date] | None = None,
) -> tuple[View, list[ParamProblem]]:
    """Parse the view's parameters leniently: a bad value falls back to its default.

    The as-of date defaults to `default_as_of` (the data's latest date); `date_bounds`
    limits it to the span of the data. Raises `ParamError` when there is no as-of date
    to use at all (no valid one given and no default).
    """
    fallbacks = {"as_of": default_as_of}
    values, problems = parse_params(raw, PARAMS, date_bounds, fallbacks)
    values.setdefault("as_of", default_as_of)
    if values["as_of"] is None:
        raise ParamError(
            [*problems, ParamProblem("as_of", "", "the data has no dates to take the as-of date from; give one")]
        )
    return View(**values), problems  # type: ignore[arg-type]


def parse_view_strict(
    raw: RawParams,
    default_as_of: date | None,
    date_bounds: tuple[date, date] | None = None,
) -> View:
    """Parse view parameters, raising `ParamError` naming every bad value."""
    view, problems = parse_view(raw, default_as_of, date_bounds)
    if problems:
        raise ParamError(problems)
    return view
