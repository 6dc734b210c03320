"""Suggested mappings (kpi.suggest): Salesforce, HubSpot, PRM portal and spreadsheet exports
recognised and mapped from their headers and values.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kpi.mapping import FileMapping, Mapping
from kpi.suggest import find_saved, guess_table, suggest
from kpi.transform import apply
from tests.conftest import (
    PARTNERS_MAPPING,
    csv_source,
    db_counts,
    partners_source,
    run_cli,
)

SALESFORCE_OPPORTUNITIES = (
    "Opportunity ID,Opportunity Name,Account Name,Stage,Amount,Probability (%),"
    "Close Date,Created Date,Opportunity Owner\n"
    '0061,Renewal,Alpha,Closed Won,"$12,500.00",100,03/15/2026,01/02/2026,Dana\n'
    "0062,Upsell,Beta,Closed Lost,$0.00,0,03/20/2026,01/05/2026,Dana\n"
    "0063,New logo,Alpha,Negotiation/Review,$900.00,60,,02/11/2026,Sam\n"
    "0064,Pilot,Beta,Prospecting,,10,,02/13/2026,Sam\n"
)


def test_salesforce_opportunity_report_is_recognised_and_mapped() -> None:
    source = csv_source("Opportunities Report.csv", SALESFORCE_OPPORTUNITIES)
    assert guess_table(source) == "deals"
    mapping = suggest(source, "deals")
    assert mapping.columns == {
        "deal_id": ("Opportunity ID",),
        "partner_id": ("Account Name",),
        "registered_on": ("Created Date",),
        "status": ("Stage",),
        "closed_on": ("Close Date",),
        "amount": ("Amount",),
    }
    assert mapping.values == {
        "status": {
            "Closed Lost": "lost",
            "Closed Won": "won",
            "Negotiation/Review": "open",
            "Prospecting": "open",
        }
    }
    # 03/15/2026 and 03/20/2026: a day above 12 in second place, so month first.
    assert mapping.date_format == "%m/%d/%Y"
    assert mapping.strip_currency and not mapping.decimal_comma
    frame = apply(source, mapping)
    assert frame.select("deal_id", "status", "closed_on", "amount", "registered_on").rows() == [
        ("0061", "won", "2026-03-15", "12500.00", "2026-01-02"),
        ("0062", "lost", "2026-03-20", "0.00", "2026-01-05"),
        ("0063", "open", None, "900.00", "2026-02-11"),
        ("0064", "open", None, None, "2026-02-13"),
    ]


def test_hubspot_deals_export_with_european_dates_and_decimal_commas() -> None:
    text = (
        "Record ID;Deal Name;Deal Stage;Amount;Close Date;Create Date;Associated Company;Deal owner\n"
        "901;Big one;closedwon;1.234,50 €;25.03.2026;02.01.2026;Alpha GmbH;Jo\n"
        "902;Small one;appointmentscheduled;99,90 €;;03.02.2026;Beta AG;Jo\n"
    )
    source = csv_source("hubspot-crm-exports-all-deals-2026-03-31.csv", text)
    assert guess_table(source) == "deals"
    mapping = suggest(source, "deals")
    assert mapping.columns["deal_id"] == ("Record ID",)
    assert mapping.columns["partner_id"] == ("Associated Company",)
    assert mapping.columns["registered_on"] == ("Create Date",)
    assert mapping.values["status"] == {"appointmentscheduled": "open", "closedwon": "won"}
    assert (mapping.date_format, mapping.decimal_comma, mapping.strip_currency) == ("%d.%m.%Y", True, True)
    frame = apply(source, mapping)
    assert frame.select("status", "registered_on", "closed_on", "amount").rows() == [
        ("won", "2026-01-02", "2026-03-25", "1234.50"),
        ("open", "2026-02-03", None, "99.90"),
    ]


def test_salesforce_accounts_report_maps_onto_partners() -> None:
    text = (
        "Account ID,Account Name,Type,Billing Country,Region,Account Owner,Created Date\n"
        "001A,Alpha,Reseller,Germany,EMEA,Dana,2025-01-10\n"
        "001B,Beta,MSP,France,EMEA,Sam,2025-02-11\n"
    )
    source = csv_source("Partner Accounts.csv", text)
    assert guess_table(source) == "partners"
    assert suggest(source, "partners").columns == {
        "partner_id": ("Account ID",),
        "partner_name": ("Account Name",),
        "joined_on": ("Created Date",),
        "region": ("Region",),  # the exact name beats Billing Country
        "partner_type": ("Type",),
        "channel_manager": ("Account Owner",),
    }


def test_prm_activity_log_gets_activity_kinds_suggested() -> None:
    text = (
        "Partner,Contact Email,Activity Type,Timestamp,Course Name\n"
        "Alpha,ann@alpha.example,Course Completed,2026-03-01T10:00:00,Selling 101\n"
        "Alpha,ann@alpha.example,Shared Asset,2026-03-02T10:00:00,\n"
        "Beta,bo@beta.example,Viewed Asset,2026-03-03T11:00:00,\n"
        "Beta,bo@beta.example,Downloaded Datasheet,2026-03-03T11:05:00,\n"
        "Beta,bo@beta.example,Sign In,2026-03-04T08:00:00,\n"
        "Beta,bo@beta.example,Webinar Registered,2026-03-05T08:00:00,\n"
        "Beta,bo@beta.example,login,2026-03-06T08:00:00,\n"
    )
    source = csv_source("portal_activity.csv", text)
    assert guess_table(source) == "activities"
    mapping = suggest(source, "activities")
    assert mapping.columns == {
        "partner_id": ("Partner",),
        "user_id": ("Contact Email",),
        "occurred_at": ("Timestamp",),
        "activity": ("Activity Type",),
        "item_name": ("Course Name",),
    }
    # "login" is already a contract value; a webinar registration is none of the four kinds: the
    # user decides (left unmapped, it is reported by validation).
    assert mapping.values == {
        "activity": {
            "Course Completed": "training_completed",
            "Downloaded Datasheet": "content_viewed",
            "Shared Asset": "content_shared",
            "Sign In": "login",
            "Viewed Asset": "content_viewed",
        }
    }
    assert mapping.date_format is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            "Deal,Partner,Registered,Stage,Closed,Amount",
            {"deal_id": "Deal", "registered_on": "Registered", "closed_on": "Closed", "amount": "Amount"},
        ),
        (
            "Deal Name,Partner Name,Created,Status,Close,Amount",
            {"deal_id": "Deal Name", "registered_on": "Created", "closed_on": "Close"},
        ),
        (
            "Deal ID,Account,Registration Date,Stage,Won Date,Value",
            {"deal_id": "Deal ID", "closed_on": "Won Date", "amount": "Value"},
        ),
        ("Deal,Partner,Date,Status,Closed Won Date,Amount", {"deal_id": "Deal", "closed_on": "Closed Won Date"}),
    ],
)
def test_common_deal_headers_are_suggested(headers: str, expected: dict[str, str]) -> None:
    # The file's name says nothing: the headers alone tell the table and the columns.
    rows = "D1,P1,2025-01-02,won,2025-02-03,100\nD2,P1,2025-01-05,open,,50\n"
    source = csv_source("export.csv", headers + "\n" + rows)
    assert guess_table(source) == "deals"
    mapping = suggest(source, "deals")
    assert {name: mapping.columns[name][0] for name in expected} == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Partner,Start Date,Owner,Region\nAcme,2024-01-02,Dana,EMEA\n",
            {"partner_id": "Partner", "partner_name": "Partner", "joined_on": "Start Date", "channel_manager": "Owner"},
        ),
        (
            "Partner ID,Partner Name,Joined,Account Owner\nP1,Acme,2024-01-02,Dana\n",
            {
                "partner_id": "Partner ID",
                "partner_name": "Partner Name",
                "joined_on": "Joined",
                "channel_manager": "Account Owner",
            },
        ),
    ],
)
def test_common_partner_headers_are_suggested(text: str, expected: dict[str, str]) -> None:
    source = csv_source("list.csv", text)
    assert guess_table(source) == "partners"
    mapping = suggest(source, "partners")
    assert {name: mapping.columns[name][0] for name in expected} == expected


def test_the_data_decides_between_date_like_headers() -> None:
    # "Date" holds quarter labels, not dates; "Paid" holds the dates: spent_on takes "Paid".
    text = "Partner,Date,Paid,Category,Cost\nAlpha,Q1 2026,15/01/2026,MDF,500\nBeta,Q1 2026,20/02/2026,SPIFF,250\n"
    source = csv_source("mdf_claims.csv", text)
    assert guess_table(source) == "investments"
    mapping = suggest(source, "investments")
    assert mapping.columns["spent_on"] == ("Paid",)
    assert mapping.columns["amount"] == ("Cost",)
    assert mapping.date_format == "%d/%m/%Y"  # 15 and 20 cannot be months


def test_order_lines_get_a_compound_id_and_are_read_as_won_deals() -> None:
    text = (
        "SalesOrderNumber,OrderDate,ProductKey,ResellerKey,SalesAmount\n"
        "SO1,2026-01-05,349,676,2024.99\n"
        "SO1,2026-01-05,350,676,6074.97\n"
        "SO2,2026-01-07,349,12,99\n"
    )
    source = csv_source("FactResellerSales.csv", text)
    assert guess_table(source) == "deals"
    mapping = suggest(source, "deals")
    assert mapping.columns["deal_id"] == ("SalesOrderNumber", "ProductKey")
    assert mapping.constants == {"status": "won"}
    assert mapping.columns["closed_on"] == mapping.columns["registered_on"] == ("OrderDate",)
    assert apply(source, mapping)["deal_id"].to_list() == ["SO1-349", "SO1-350", "SO2-349"]


def test_files_that_are_none_of_the_tables_are_not_guessed() -> None:
    products = csv_source("products.csv", "product,series,sales_price\nGTX Basic,GTX,550\n")
    teams = csv_source("sales_teams.csv", "sales_agent,manager,regional_office\nAnna,Dustin,Central\n")
    assert guess_table(products) is None
    assert guess_table(teams) is None


def test_a_typo_does_not_change_the_suggested_date_format() -> None:
    text = "Deal ID,Partner,Created Date,Stage\nD1,A1,03/15/2026,Won\nD2,A1,03/20/2026,Lost\nD3,A1,13/45/2026,Open\n"
    source = csv_source("deals.csv", text)
    mapping = suggest(source, "deals")
    assert mapping.date_format == "%m/%d/%Y"  # two US dates; 13/45 fits no order
    assert apply(source, mapping)["registered_on"].to_list() == ["2026-03-15", "2026-03-20", "13/45/2026"]


def test_ambiguous_slash_dates_get_no_format() -> None:
    source = csv_source("deals.csv", "Deal ID,Partner,Created Date,Stage\nD1,A,03/04/2026,Won\nD2,A,05/06/2026,Lost\n")
    assert suggest(source, "deals").date_format is None  # 3 April or 4 March: the user chooses


def test_find_saved_matches_next_weeks_export_by_its_headers() -> None:
    this_week = csv_source("pipeline-2026-03-24.csv", SALESFORCE_OPPORTUNITIES)
    saved = Mapping(
        "weekly",
        (FileMapping("pipeline-*.csv", this_week.headers, 1, ",", suggest(this_week, "deals")),),
    )
    other = Mapping("accounts", (FileMapping("accounts.csv", partners_source().headers, 1, ",", PARTNERS_MAPPING),))
    next_week = csv_source("pipeline-2026-03-31.csv", SALESFORCE_OPPORTUNITIES.replace("0061", "0071"))
    assert find_saved([other, saved], next_week) is saved.files[0]
    renamed = csv_source("pipeline.csv", SALESFORCE_OPPORTUNITIES.replace("Close Date", "Closing Date"))
    assert find_saved([other, saved], renamed) is None
    # Two saved mappings with these headers: the one whose file pattern fits the name wins.
    exact = Mapping(
        "exact", (FileMapping("pipeline-2026-03-31.csv", this_week.headers, 1, ",", saved.files[0].mapping),)
    )
    assert find_saved([saved, exact], next_week) is saved.files[0]
    elsewhere = Mapping("elsewhere", (FileMapping("deals.csv", this_week.headers, 1, ",", saved.files[0].mapping),))
    assert find_saved([elsewhere, saved], next_week) is saved.files[0]


# --- the command line ------------------------------------------------------------------------


def test_cli_suggest_mapping_writes_a_starter_that_loads_after_one_edit(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    folder.mkdir()
    (folder / "accounts.csv").write_text("Account Name,Industry\nAlpha,Retail\nBeta,Health\n")
    (folder / "opportunities.csv").write_text(SALESFORCE_OPPORTUNITIES.replace("Beta", "Alpha"))
    (folder / "products.csv").write_text("product,series\nGTX,G\n")
    out_file = tmp_path / "mapping.json"
    code, out, err = run_cli("suggest-mapping", folder, "--out", out_file, "--name", "Salesforce")
    assert code == 0, err
    assert err == "skipped products.csv: its headers do not look like any of the five tables\n"
    assert "accounts.csv -> partners: partner_id <- Account Name, partner_name <- Account Name\n" in out
    assert "  joined_on is required and not mapped" in out
    mapping = Mapping.from_json(out_file.read_text())
    assert mapping.name == "Salesforce"
    assert [(f.file, f.mapping.table) for f in mapping.files] == [
        ("accounts.csv", "partners"),
        ("opportunities.csv", "deals"),
    ]
    # The one edit: the accounts export has no join date.
    document = json.loads(out_file.read_text())
    document["files"][0]["mapping"]["constants"]["joined_on"] = "2025-01-01"
    out_file.write_text(json.dumps(document))
    db = tmp_path / "kpi.duckdb"
    code, out, err = run_cli("load", folder, "--db", db, "--mapping", out_file)
    assert code == 0, err
    # 12,500 won + 0 lost + 900 open + nothing: one-time amounts of the four opportunities.
    assert db_counts(db)["deals"] == (4, 13400.0)
    # Never overwrite a mapping someone may have edited.
    code, _, err = run_cli("suggest-mapping", folder, "--out", out_file)
    assert code == 2 and err.startswith(f"error: {out_file} exists")
