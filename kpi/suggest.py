"""Suggest a mapping for an export: which table it holds and which of its columns feed which.

From the headers (the contract's own names first, then common Salesforce, HubSpot, PRM
portal and spreadsheet headers) and the values (dates for date columns, numbers for money,
deal stages and activity names for value maps, US or European dates). `find_saved` finds
the mapping saved for an earlier export with the same headers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import polars as pl

from kpi.mapping import JOIN_SEPARATOR, FileMapping, Mapping, MappingError, TableMapping, normalise_value
from kpi.schema import TABLE_BY_NAME, TABLE_NAMES, Column
from kpi.source import SourceFile

_SAMPLE_ROWS = 2000  # suggestions look at the first rows of a file


def _norm(header: str) -> str:
    """Header comparison ignores case, spaces, underscores and punctuation."""
    return re.sub(r"[^0-9a-z]+", "", header.lower())


_PARTNER_KEY = ("partnerid", "accountid", "resellerkey", "resellerid", "partnerkey", "accountkey", "companyid")
_PARTNER_NAMES = (
    "partner",
    "partnername",
    "account",
    "accountname",
    "reseller",
    "resellername",
    "company",
    "companyname",
    "associatedcompany",
    "organization",
    "organizationname",
)
_PARTNER_REF = (*_PARTNER_KEY, "associatedcompanyid", "associatedcompanyids", "orgid", *_PARTNER_NAMES)
_USER_REF = ("userid", "contactid", "email", "emailaddress", "user", "contact", "useremail", "contactemail")

# Normalised export headers for each contract column, best first (Salesforce, HubSpot, PRM
# portals, spreadsheets). The contract's own name always wins over these.
SYNONYMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("partners", "partner_id"): (*_PARTNER_KEY, "organizationid", "orgid", "partnernumber", "accountnumber", "id"),
    ("partners", "partner_name"): _PARTNER_NAMES + ("name",),
    ("partners", "joined_on"): (
        "joindate",
        "joined",
        "joineddate",
        "datejoined",
        "joinedprogram",
        "since",
        "partnersince",
        "onboardingdate",
        "onboardeddate",
        "enrollmentdate",
        "signupdate",
        "signedup",
        "startdate",
        "started",
        "start",
        "partnerstartdate",
        "contractstartdate",
        "agreementdate",
        "createddate",
        "createdon",
        "created",
        "createdat",
        "createdate",
    ),
    ("partners", "left_on"): (
        "leftdate",
        "left",
        "enddate",
        "ended",
        "terminationdate",
        "terminatedon",
        "terminated",
        "offboardeddate",
        "offboarded",
        "exitdate",
        "deactivationdate",
        "deactivatedon",
    ),
    ("partners", "region"): ("region", "territory", "salesterritory", "geo", "country", "countryregion", "location"),
    ("partners", "partner_type"): ("type", "partnertype", "businesstype", "accounttype", "partnertier", "tier"),
    ("partners", "channel_manager"): (
        "partnermanager",
        "channelaccountmanager",
        "partneraccountmanager",
        "accountmanager",
        "partnerowner",
        "accountowner",
        "owner",
        "ownername",
        "manager",
        "managedby",
    ),
    ("partner_users", "user_id"): _USER_REF,
    ("partner_users", "partner_id"): _PARTNER_REF,
    ("partner_users", "user_name"): ("name", "fullname", "contactname", "contact", "username"),
    ("partner_users", "role"): ("role", "title", "jobtitle", "position"),
    ("activities", "partner_id"): _PARTNER_REF,
    ("activities", "user_id"): _USER_REF,
    ("activities", "occurred_at"): (
        "timestamp",
        "date",
        "datetime",
        "time",
        "activitydate",
        "eventdate",
        "eventtime",
        "occurred",
        "occurredon",
        "completeddate",
        "completedon",
        "completiondate",
        "createddate",
        "createdat",
    ),
    ("activities", "activity"): ("activitytype", "activity", "type", "eventtype", "event", "action", "eventname"),
    ("activities", "item_id"): ("itemid", "contentid", "courseid", "assetid"),
    ("activities", "item_name"): ("itemname", "contentname", "coursename", "assetname", "content", "course", "title"),
    ("deals", "deal_id"): (
        "opportunityid",
        "dealid",
        "deal",
        "oppid",
        "recordid",
        "dealregistrationid",
        "registrationid",
        "opportunitynumber",
        "dealnumber",
        "salesordernumber",
        "ordernumber",
        "orderid",
        "id",
        "dealname",
        "opportunityname",
        "opportunity",
    ),
    ("deals", "partner_id"): _PARTNER_REF,
    ("deals", "registered_on"): (
        "registrationdate",
        "registereddate",
        "registered",
        "registration",
        "dealregistrationdate",
        "submitteddate",
        "submitted",
        "createddate",
        "createdate",
        "createdon",
        "createdat",
        "created",
        "engagedate",
        "opendate",
        "orderdate",
        "date",
    ),
    ("deals", "status"): ("stage", "dealstage", "stagename", "opportunitystage", "status", "dealstatus", "outcome"),
    ("deals", "closed_on"): (
        "closedate",
        "closeddate",
        "closed",
        "close",
        "closedat",
        "dateclosed",
        "closingdate",
        "wondate",
        "closedwondate",
        "datewon",
        "won",
        "actualclosedate",
    ),
    ("deals", "amount"): (
        "amount",
        "dealamount",
        "opportunityamount",
        "closevalue",
        "value",
        "dealvalue",
        "dealsize",
        "salesamount",
        "totalamount",
        "total",
        "revenue",
        "amountusd",
    ),
    ("deals", "mrr"): ("mrr", "monthlyrecurringrevenue", "recurringrevenue", "monthlyrevenue"),
    ("deals", "churned_on"): (
        "churndate",
        "churned",
        "churneddate",
        "cancellationdate",
        "cancelledon",
        "canceledon",
        "cancelled",
        "canceled",
    ),
    ("investments", "partner_id"): _PARTNER_REF,
    ("investments", "spent_on"): (
        "date",
        "spenddate",
        "spentdate",
        "paymentdate",
        "paiddate",
        "invoicedate",
        "claimdate",
        "transactiondate",
    ),
    ("investments", "category"): ("category", "type", "fundtype", "investmenttype", "program", "expensetype"),
    ("investments", "amount"): (
        "amount",
        "spend",
        "spent",
        "cost",
        "value",
        "total",
        "amountusd",
        "claimamount",
        "paidamount",
    ),
}

# Words in a file name that say which table it holds.
_NAME_WORDS: dict[str, tuple[str, ...]] = {
    "partners": ("partner", "account", "reseller", "compan", "organization", "organisation"),
    "partner_users": ("user", "contact", "people", "staff", "member"),
    "activities": ("activit", "event", "engagement", "training", "login", "lms"),
    "deals": ("deal", "opportunit", "opps", "pipeline", "registration", "order", "sales"),
    "investments": ("investment", "mdf", "fund", "spend", "budget", "incentive", "spiff", "claim"),
}

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ].*)?$")
_OTHER_DATE = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(\s.*)?$")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_DECORATED_NUMBER = re.compile(r"^\(?[+-]?\s*([^\d\s]{1,3}\.?\s*)?[\d][\d.,'’\s]*(\s*[^\d\s]{1,3})?\)?$")


def _sample(source: SourceFile, header: str) -> list[str]:
    return source.frame.get_column(header).head(_SAMPLE_ROWS).drop_nulls().to_list()


def _share(values: list[str], test: Any) -> float:
    return sum(1 for v in values if test(v)) / len(values) if values else 0.0


def _is_date(value: str) -> bool:
    return bool(_ISO_DATE.match(value) or _OTHER_DATE.match(value))


def _is_number(value: str) -> bool:
    return bool(_PLAIN_NUMBER.match(value) or _DECORATED_NUMBER.match(value))


def _header_score(table: str, column: Column, header: str) -> int:
    """How well a header's name fits a contract column: 0 (not at all) to 1000 (its own name)."""
    key = _norm(header)
    if not key:
        return 0
    if key == _norm(column.name):
        return 1000
    synonyms = SYNONYMS.get((table, column.name), ())
    if key in synonyms:
        return 900 - 10 * synonyms.index(key)
    for rank, synonym in enumerate(synonyms):
        # "Opportunity Close Date" ends like "closedate"; "SalesAmount" like "amount".
        if len(synonym) >= 6 and key.endswith(synonym):
            return 300 - 10 * rank
    return 0


def _data_score(column: Column, values: list[str]) -> int:
    """Adjust a header match by what the column holds: dates for dates, numbers for money."""
    if not values:
        return 0
    # A column whose values are mostly not dates (or numbers) is never a date (or money) column.
    if column.kind in ("date", "timestamp"):
        share = _share(values, _is_date)
        return int(50 * share) if share >= 0.5 else -10_000
    if column.kind == "money":
        share = _share(values, _is_number)
        return int(50 * share) if share >= 0.5 else -10_000
    if column.unique and len(set(values)) < len(values):
        return -200
    return 0


def _match_columns(source: SourceFile, table: str, use_data: bool = True) -> dict[str, tuple[str, int]]:
    """Contract column -> (the best source header, its score), each header used once, best first."""
    contract = TABLE_BY_NAME[table]
    samples = {h: _sample(source, h) for h in source.headers} if use_data else {}
    scored: list[tuple[int, int, str, str]] = []
    for order, column in enumerate(contract.columns):
        for header in source.headers:
            score = _header_score(table, column, header)
            if score <= 0:
                continue
            if use_data:
                score += _data_score(column, samples[header])
            if score > 0:
                scored.append((score, -order, column.name, header))
    chosen: dict[str, tuple[str, int]] = {}
    used: set[str] = set()
    for score, _, column_name, header in sorted(scored, reverse=True):
        if column_name not in chosen and header not in used:
            chosen[column_name] = (header, score)
            used.add(header)
    if use_data:
        # A required date column without a fitting name takes a column that holds dates.
        for column in contract.columns:
            if column.required and column.kind in ("date", "timestamp") and column.name not in chosen:
                for header in source.headers:
                    if header not in used and _share(samples[header], _is_date) >= 0.9:
                        chosen[column.name] = (header, 1)
                        used.add(header)
                        break
    if table == "partners" and "partner_id" not in chosen and "partner_name" in chosen:
        # An export without an id column: the name is the id (as in a CRM account list).
        chosen["partner_id"] = (chosen["partner_name"][0], 1)
    return chosen


def _name_words(file_name: str) -> list[str]:
    stem = Path(file_name).stem
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", stem)
    return [w for w in re.split(r"[^0-9a-z]+", spaced.lower()) if w]


# The required columns that tell tables apart (partner_id is in four of them, so it does not).
_TELLING: dict[str, tuple[str, ...]] = {
    "partners": ("partner_id", "partner_name", "joined_on"),
    "partner_users": ("user_id",),
    "activities": ("occurred_at", "activity"),
    "deals": ("deal_id", "registered_on", "status"),
    "investments": ("spent_on", "amount"),
}


def guess_table(source: SourceFile) -> str | None:
    """The contract table this export most likely holds, by its headers and file name; None if unclear."""
    words = _name_words(source.name)
    best: tuple[float, str] | None = None
    for table, telling in _TELLING.items():
        matched = _match_columns(source, table, use_data=False)
        # A header named like the column counts fully, one that only ends like it half.
        exact = sum(1 for c in telling if c in matched and matched[c][1] >= 500)
        partial = sum(1 for c in telling if c in matched and matched[c][1] < 500)
        if exact == 0:
            continue
        named = any(w.startswith(stem) for w in words for stem in _NAME_WORDS[table])
        score = (exact + partial / 2) / len(telling) + (0.3 if named else 0.0)
        if best is None or score > best[0]:
            best = (score, table)
    return best[1] if best else None


def _status_value(value: str) -> str:
    key = normalise_value(value)
    if "won" in key or key in ("win", "booked"):
        return "won"
    if "lost" in key or key in ("lose", "dead", "disqualified"):
        return "lost"
    return "open"


_ACTIVITY_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("training_completed", ("course", "training", "certif", "lesson", "module", "quiz", "exam", "learning")),
    ("content_shared", ("share", "social", "post", "forward", "campaign")),
    ("login", ("login", "logon", "signin", "loggedin", "signedin", "session")),
    ("content_viewed", ("view", "download", "open", "read", "watch", "visit", "click")),
)


def _activity_value(value: str) -> str | None:
    key = re.sub(r"[^0-9a-z]+", "", value.lower())
    for kind, words in _ACTIVITY_WORDS:
        if any(word in key for word in words):
            return kind
    return None


def _value_map(source: SourceFile, header: str, column: Column) -> dict[str, str]:
    distinct = source.values(header, 200)
    mapped: dict[str, str] = {}
    for value in distinct:
        if value in column.choices:
            continue
        target = _status_value(value) if column.name == "status" else _activity_value(value)
        if target is not None:
            mapped[value] = target
    return mapped


def _suggest_date_format(values: list[str]) -> str | None:
    """A strptime format when the dates are clearly US (a day > 12 in second place) or European."""
    others = [m for m in (_OTHER_DATE.match(v) for v in values) if m]
    if not others or len(others) < len(values) / 2:
        return None
    separators = {m.group(2) for m in others}
    year_lengths = {len(m.group(4)) for m in others}
    if len(separators) != 1 or len(year_lengths) != 1:
        return None
    sep = separators.pop()
    year = "%Y" if year_lengths.pop() == 4 else "%y"
    # A value with a day above 12 tells the order; one with both parts above 12 is a typo, no clue.
    day_first = sum(1 for m in others if int(m.group(1)) > 12 >= int(m.group(3)))
    month_first = sum(1 for m in others if int(m.group(3)) > 12 >= int(m.group(1)))
    if month_first > day_first:
        return f"%m{sep}%d{sep}{year}"
    if day_first > month_first or (sep == "." and not month_first):  # dotted dates are day-first
        return f"%d{sep}%m{sep}{year}"
    return None


_LINE_WORDS = ("line", "product", "item", "sku", "position")


def _unique_key(source: SourceFile, header: str) -> tuple[str, ...]:
    """`header`, or header + a line/product column when only the pair is unique (order lines)."""
    frame = source.frame
    if frame.get_column(header).drop_nulls().is_unique().all():
        return (header,)
    for word in _LINE_WORDS:
        for other in source.headers:
            if other != header and word in _norm(other):
                pair = frame.select(pl.concat_str([pl.col(header), pl.col(other)], separator=JOIN_SEPARATOR))
                if pair.to_series().drop_nulls().is_unique().all():
                    return (header, other)
    return (header,)


def suggest(source: SourceFile, table: str) -> TableMapping:
    """A starting mapping of this export onto `table`, from its headers and its values.

    Columns are matched by name (case, spaces and punctuation ignored; the contract's own
    names first, then common CRM/PRM export headers) and checked against the data (dates
    for date columns, numbers for money). Deal stages and activity names get value maps,
    and US or European dates and decorated money get the matching options.
    """
    if table not in TABLE_BY_NAME:
        raise MappingError("table", f"{table!r} is not one of {', '.join(TABLE_NAMES)}")
    contract = TABLE_BY_NAME[table]
    matched = _match_columns(source, table)
    chosen = {c.name: matched[c.name][0] for c in contract.columns if c.name in matched}
    columns = {name: (header,) for name, header in chosen.items()}
    for column in contract.columns:
        if column.unique and column.name in columns:
            columns[column.name] = _unique_key(source, chosen[column.name])
    constants: dict[str, str] = {}
    if table == "deals" and "status" not in columns:
        # No stage column: an order or sales-lines export; every line is a won deal,
        # closed on the date it was booked. Shown in the mapping, to change if wrong.
        constants["status"] = "won"
        if "closed_on" not in columns and "registered_on" in columns:
            columns["closed_on"] = columns["registered_on"]
    values: dict[str, dict[str, str]] = {}
    for name in ("status", "activity"):
        if name in columns:
            value_map = _value_map(source, columns[name][0], contract.column(name))
            if value_map:
                values[name] = value_map
    date_values = [
        v
        for c in contract.columns
        if c.kind in ("date", "timestamp") and c.name in chosen
        for v in _sample(source, chosen[c.name])
    ]
    money_values = [
        v for c in contract.columns if c.kind == "money" and c.name in chosen for v in _sample(source, chosen[c.name])
    ]
    decorated = [v for v in money_values if not _PLAIN_NUMBER.match(v)]
    decimal_comma = any(re.search(r"\d,\d{1,2}\D*$", v) or re.search(r"\.\d{3},", v) for v in money_values)
    strip_currency = any(re.search(r"[^\d.,+-]", v) or (not decimal_comma and "," in v) for v in decorated)
    return TableMapping(
        table=table,
        columns=columns,
        constants=constants,
        values=values,
        date_format=_suggest_date_format(date_values),
        decimal_comma=decimal_comma,
        strip_currency=strip_currency,
    )


def find_saved(mappings: Iterable[Mapping], source: SourceFile) -> FileMapping | None:
    """The saved file mapping made for a file with exactly these headers (next week's export).

    Among several, one whose file name or pattern also matches this file's name wins.
    """
    same_headers = [f for m in mappings for f in m.files if f.headers == source.headers]
    named = [f for f in same_headers if fnmatchcase(source.name, f.file)]
    return (named or same_headers or [None])[0]
