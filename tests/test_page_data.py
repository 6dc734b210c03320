"""The Data page under AppTest: upload, map, check, confirm, restore."""

from __future__ import annotations

import os
import tempfile
import time
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kpi import history
from kpi.params import View
from kpi.schema import TABLE_NAMES
from kpi.validate import IMPOSSIBLE_DATE
from tests.conftest import ROOT, default_view, engine_summary, metric, open_page
from tests.test_ui_downloads import button_keys, pairs, recorded_downloads
from ui import format as fmt
from ui import upload as ui_upload

APP = str(ROOT / "app.py")

# A CRM export as it comes: its own headers, US dates, currency-formatted amounts.
ACCOUNTS = (
    b"Account ID,Account Name,Partner Since,Region\r\n"
    b"A-1,Northwind Traders,01/15/2024,EMEA\r\n"
    b"A-2,Contoso Ltd,03/02/2025,North America\r\n"
    b"A-3,Fabrikam Inc,11/30/2025,APAC\r\n"
)
OPPORTUNITIES = (
    b"Opportunity ID,Account ID,Created Date,Stage,Close Date,Amount\r\n"
    b'O-1,A-1,02/01/2026,Closed Won,03/15/2026,"$12,500.00"\r\n'
    b'O-2,A-1,03/01/2026,Closed Lost,03/20/2026,"$4,000.00"\r\n'
    b'O-3,A-2,03/10/2026,Negotiation,,"$9,000.00"\r\n'
)


def open_data_page(db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    return open_page(db, monkeypatch, "data")


def upload(at: AppTest, *files: tuple[str, bytes]) -> AppTest:
    at.file_uploader(key="data_upload").set_value([(name, data, "text/csv") for name, data in files])
    return at.run()


def selectbox_by_label(at: AppTest, label: str):
    return next(s for s in at.selectbox if s.label == label)


def test_upload_map_check_and_load_a_crm_export(demo_db, tmp_path, monkeypatch):
    db = tmp_path / "program.duckdb"
    db.write_bytes(demo_db.read_bytes())
    at = open_data_page(db, monkeypatch)
    assert not at.exception
    at = upload(at, ("accounts.csv", ACCOUNTS), ("opportunities.csv", OPPORTUNITIES))
    assert not at.exception

    # The mapping is suggested from the headers and the data.
    tables = [s.value for s in at.selectbox if s.label == "Load this file as"]
    assert tables == ["partners", "deals"]
    assert selectbox_by_label(at, "partner_name *").value == "Account Name"
    assert selectbox_by_label(at, "registered_on *").value == "Created Date"
    assert selectbox_by_label(at, "Closed Won").value == "won"
    assert selectbox_by_label(at, "Negotiation").value == "open"
    date_formats = [s.value for s in at.selectbox if s.label == "Dates are written as"]
    assert date_formats == ["MM/DD/YYYY (US)", "MM/DD/YYYY (US)"]

    at.button(key="data_check").click().run()
    assert not at.exception
    assert any("Every row passed" in s.value for s in at.success)
    assert pairs("data_counts_download") <= button_keys(at)  # the rows about to be loaded
    at.text_input(key="data_mapping_name").input("weekly CRM export").run()
    at.button(key="data_confirm").click().run()
    assert not at.exception

    # The app now shows the uploaded program: 3 partners, 12,500 revenue won.
    summary = engine_summary(db, View(as_of=date(2026, 3, 31)))
    assert summary["partners"] == 3
    assert summary["revenue"] == pytest.approx(12_500)
    loads = history.list_loads(db)
    assert [load.current for load in loads] == [True, False]
    assert "weekly CRM export" in history.saved_mappings(db)
    # The program's own data is loaded now: the newcomer's guide stays closed.
    at = open_data_page(db, monkeypatch)
    assert at.expander[0].label.startswith("New here?") and not at.expander[0].proto.expanded


def test_a_refused_upload_lists_every_problem_and_changes_nothing(demo_db, tmp_path, monkeypatch):
    db = tmp_path / "program.duckdb"
    db.write_bytes(demo_db.read_bytes())
    before = db.read_bytes()
    bad = OPPORTUNITIES.replace(b"O-2,A-1", b"O-2,A-9").replace(b"03/10/2026", b"13/45/2026")
    at = upload(open_data_page(db, monkeypatch), ("accounts.csv", ACCOUNTS), ("opportunities.csv", bad))
    at.button(key="data_check").click().run()
    assert not at.exception
    assert "2 problem(s)" in at.error[0].value
    problems = next(df.value for df in at.dataframe if "problem" in df.value.columns and "row" in df.value.columns)
    # Each column named as the export has it, next to ours.
    assert set(problems["column"]) == {"Account ID (partner_id)", "Created Date (registered_on)"}
    assert set(problems["row"]) == {3, 4}
    assert not [b for b in at.button if b.key == "data_confirm"]
    assert db.read_bytes() == before


def test_every_problem_downloads_and_a_value_a_spreadsheet_would_run_stays_text(demo_db, tmp_path, monkeypatch):
    db = tmp_path / "program.duckdb"
    db.write_bytes(demo_db.read_bytes())
    downloads = recorded_downloads(monkeypatch)
    at = open_data_page(db, monkeypatch)
    assert pairs("data_loads_download") <= button_keys(at)  # the load history
    assert downloads["data_loads_download_csv"].csv()["live"].to_list() == ["yes"]
    bad = OPPORTUNITIES.replace(b"O-2,A-1", b"O-2,=HYPERLINK()").replace(b"03/10/2026", b"13/45/2026")
    at = upload(at, ("accounts.csv", ACCOUNTS), ("opportunities.csv", bad))
    at.button(key="data_check").click().run()
    assert not at.exception
    assert pairs("data_problem_kinds_download", "data_problems_download") <= button_keys(at)
    problems = downloads["data_problems_download_csv"]
    assert problems.file_name == f"data-problems-{date.today().isoformat()}.csv"
    values = problems.csv()["value"].to_list()
    assert "'=HYPERLINK()" in values and "=HYPERLINK()" not in values
    assert "=HYPERLINK()" in downloads["data_problems_download_xlsx"].sheet("problems")["value"].to_list()
    assert downloads["data_problem_kinds_download_csv"].csv()["count"].sum() == len(values) == 2


def test_next_weeks_export_with_the_same_headers_maps_itself(demo_db, tmp_path, monkeypatch):
    db = tmp_path / "program.duckdb"
    db.write_bytes(demo_db.read_bytes())
    at = upload(open_data_page(db, monkeypatch), ("accounts.csv", ACCOUNTS), ("opportunities.csv", OPPORTUNITIES))
    selectbox_by_label(at, "region").set_value("(none)").run()  # a correction by hand
    at.button(key="data_check").click().run()
    at.text_input(key="data_mapping_name").input("weekly CRM export").run()
    at.button(key="data_confirm").click().run()

    week2 = OPPORTUNITIES + b'O-4,A-3,03/12/2026,Negotiation,03/30/2026,"$1,000.00"\r\n'
    at = upload(open_data_page(db, monkeypatch), ("accounts.csv", ACCOUNTS), ("opportunities-week2.csv", week2))
    assert any("weekly CRM export" in s.value for s in at.success)
    assert selectbox_by_label(at, "region").value == "(none)"  # the hand correction came back


def test_an_earlier_load_can_be_restored(demo_db, tmp_path, monkeypatch):
    db = tmp_path / "program.duckdb"
    db.write_bytes(demo_db.read_bytes())
    demo_partners = engine_summary(db, default_view(db))["partners"]
    at = upload(open_data_page(db, monkeypatch), ("accounts.csv", ACCOUNTS), ("opportunities.csv", OPPORTUNITIES))
    at.button(key="data_check").click().run()
    at.button(key="data_confirm").click().run()
    assert engine_summary(db, default_view(db))["partners"] == 3

    at.button(key="data_restore").click().run()
    assert not at.exception
    assert engine_summary(db, default_view(db))["partners"] == demo_partners
    at.switch_page("pages/overview.py").run()
    assert metric(at, "Partners in the program") == fmt.count(demo_partners)


def test_the_data_page_works_before_any_data_exists(tmp_path, monkeypatch):
    db = tmp_path / "new.duckdb"
    at = open_data_page(db, monkeypatch)
    assert not at.exception
    assert at.title[0].value == "Your data"
    assert "data_staging" not in at.session_state  # a visit alone leaves no staging folder
    at = upload(at, ("accounts.csv", ACCOUNTS))
    staging = Path(at.session_state["data_staging"])
    assert [p.name for p in staging.iterdir()] == ["accounts.csv"]
    at.button(key="data_check").click().run()
    at.button(key="data_confirm").click().run()
    assert not at.exception
    assert engine_summary(db, default_view(db))["partners"] == 3
    # Loaded: the upload box is empty again and the staged copy of the upload is gone.
    assert "Loaded: " in at.success[0].value
    assert at.file_uploader[0].value in (None, [])
    assert not staging.exists()


@pytest.mark.parametrize("setting", ["1", "on", "TRUE", "enabled", "sure"])
def test_read_only_mode_hides_loading_for_any_value_but_an_explicit_off(demo_db, monkeypatch, setting):
    monkeypatch.setenv("KPI_READ_ONLY", setting)
    at = open_data_page(demo_db, monkeypatch)
    assert "read-only" in at.info[0].value
    assert not at.file_uploader


@pytest.mark.parametrize("setting", ["", "0", "off", "No", "false"])
def test_an_explicit_off_keeps_loading(demo_db, monkeypatch, setting):
    monkeypatch.setenv("KPI_READ_ONLY", setting)
    at = open_data_page(demo_db, monkeypatch)
    assert at.file_uploader and not [i for i in at.info if "read-only" in i.value]


def big_opportunities(rows: int) -> bytes:
    """`rows` opportunities of the three accounts, won or lost; the last one still in negotiation."""
    lines = [b"Opportunity ID,Account ID,Created Date,Stage,Close Date,Amount"]
    for i in range(1, rows + 1):
        stage, closed = (b"Negotiation", b"") if i == rows else (b"Closed Won", b"03/20/2026")
        lines.append(b"O-%d,A-%d,03/01/2026,%s,%s,100.00" % (i, i % 3 + 1, stage, closed))
    return b"\r\n".join(lines) + b"\r\n"


def test_a_big_export_is_previewed_yet_every_value_and_row_counts(demo_db, tmp_path, monkeypatch):
    db = tmp_path / "program.duckdb"
    db.write_bytes(demo_db.read_bytes())
    # 10,500 rows: more than the preview's 10,000; the only open deal is the last row.
    at = upload(
        open_data_page(db, monkeypatch), ("accounts.csv", ACCOUNTS), ("opportunities.csv", big_opportunities(10_500))
    )
    assert not at.exception
    assert any(c.value.startswith("10,500 rows (suggestions read the first 10,000)") for c in at.caption)
    assert selectbox_by_label(at, "Negotiation").value == "open"  # seen past the preview

    at.button(key="data_check").click().run()
    assert any("Every row passed" in s.value for s in at.success)
    counts = next(df.value for df in at.dataframe if list(df.value.columns) == ["table", "rows"])
    assert dict(zip(counts["table"], counts["rows"], strict=True)) == {
        "partners": 3,
        "partner_users": 0,
        "activities": 0,
        "deals": 10_500,
        "investments": 0,
    }
    at.button(key="data_confirm").click().run()
    assert not at.exception
    summary = engine_summary(db, View(as_of=date(2026, 3, 31)))
    assert summary["revenue"] == pytest.approx(10_499 * 100)  # every won deal, none of the preview's limit


def test_files_that_change_after_the_check_are_checked_again_and_nothing_is_loaded(demo_db, tmp_path, monkeypatch):
    db = tmp_path / "program.duckdb"
    db.write_bytes(demo_db.read_bytes())
    before = db.read_bytes()
    at = upload(open_data_page(db, monkeypatch), ("accounts.csv", ACCOUNTS), ("opportunities.csv", OPPORTUNITIES))
    at.button(key="data_check").click().run()
    assert any("Every row passed" in s.value for s in at.success)

    # The staged copy changes under the page (a disk fault, another tab): the load checks every row again.
    staged = Path(at.session_state["data_staging"]) / "opportunities.csv"
    staged.write_bytes(OPPORTUNITIES.replace(b"O-2,A-1", b"O-2,A-9"))
    at.button(key="data_confirm").click().run()

    assert not at.exception
    assert "1 problem(s)" in at.error[0].value
    problems = next(df.value for df in at.dataframe if "problem" in df.value.columns and "row" in df.value.columns)
    assert problems[["row", "column", "value"]].values.tolist() == [[3, "Account ID (partner_id)", "A-9"]]
    assert db.read_bytes() == before
    assert len(history.list_loads(db)) == 1


def test_two_uploads_with_one_name_are_refused_by_name(demo_db, tmp_path, monkeypatch):
    at = open_data_page(demo_db, monkeypatch)
    at = upload(at, ("accounts.csv", ACCOUNTS), ("accounts.csv", ACCOUNTS.replace(b"A-1", b"A-7")))
    assert not at.exception
    assert "accounts.csv: another uploaded file has the same name" in at.error[0].value
    assert [s.value for s in at.selectbox if s.label == "Load this file as"] == ["partners"]


def test_staging_folders_of_sessions_gone_for_a_day_are_removed(demo_db, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    two_days_ago = time.time() - 2 * 24 * 3600
    old = tmp_path / "kpi-upload-gone"
    (old / "activities.csv").parent.mkdir()
    (old / "activities.csv").write_bytes(b"x" * 1000)
    os.utime(old, (two_days_ago, two_days_ago))
    recent = tmp_path / "kpi-upload-other-session"
    recent.mkdir()
    unrelated = tmp_path / "someone-else"
    unrelated.mkdir()
    os.utime(unrelated, (two_days_ago, two_days_ago))

    at = upload(open_data_page(demo_db, monkeypatch), ("accounts.csv", ACCOUNTS))

    assert not old.exists()
    assert recent.is_dir() and unrelated.is_dir()
    mine = Path(at.session_state["data_staging"])
    assert mine.parent == tmp_path and [p.name for p in mine.iterdir()] == ["accounts.csv"]


def test_a_file_uploaded_again_after_the_check_must_be_checked_again(demo_db, tmp_path, monkeypatch):
    db = tmp_path / "program.duckdb"
    db.write_bytes(demo_db.read_bytes())
    at = upload(open_data_page(db, monkeypatch), ("accounts.csv", ACCOUNTS), ("opportunities.csv", OPPORTUNITIES))
    at.button(key="data_check").click().run()
    assert any("Every row passed" in s.value for s in at.success)

    # Same name, same headers, two more rows: the earlier "passed" no longer speaks for it.
    week2 = OPPORTUNITIES + b'O-4,A-3,03/12/2026,Closed Won,03/30/2026,"$1,000.00"\r\n'
    at = upload(at, ("accounts.csv", ACCOUNTS), ("opportunities.csv", week2))
    assert not any("Every row passed" in s.value for s in at.success)
    assert any("changed since the last check" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "data_confirm"]

    at.button(key="data_check").click().run()
    counts = next(df.value for df in at.dataframe if list(df.value.columns) == ["table", "rows"])
    assert dict(zip(counts["table"], counts["rows"], strict=True))["deals"] == 4


def test_each_upload_is_read_once_for_its_preview(demo_db, tmp_path, monkeypatch):
    reads: list[str] = []
    original = ui_upload.preview_source

    def counted(name, *args, **kwargs):
        reads.append(name)
        return original(name, *args, **kwargs)

    monkeypatch.setattr(ui_upload, "preview_source", counted)
    at = upload(open_data_page(demo_db, monkeypatch), ("accounts.csv", ACCOUNTS), ("opportunities.csv", OPPORTUNITIES))
    selectbox_by_label(at, "region").set_value("(none)").run()
    at.button(key="data_check").click().run()
    assert sorted(reads) == ["accounts.csv", "opportunities.csv"]


def test_names_alike_but_not_the_same_get_a_mapping_each(demo_db, monkeypatch):
    at = upload(open_data_page(demo_db, monkeypatch), ("accounts 1.csv", ACCOUNTS), ("accounts_1.csv", ACCOUNTS))
    assert not at.exception
    assert [e.label for e in at.expander][3:] == ["accounts 1.csv", "accounts_1.csv"]  # after the three guides
    assert [s.value for s in at.selectbox if s.label == "Load this file as"] == ["partners", "partners"]


def test_a_file_over_the_size_limit_is_refused_before_it_is_written(demo_db, monkeypatch):
    monkeypatch.setenv("KPI_MAX_UPLOAD_MB", "0.0001")  # 104 bytes
    at = upload(open_data_page(demo_db, monkeypatch), ("opportunities.csv", OPPORTUNITIES))
    assert at.error[0].value.startswith("opportunities.csv: is ")
    assert "over the 0.0001 MB limit (set KPI_MAX_UPLOAD_MB to change it)" in at.error[0].value
    assert list(Path(at.session_state["data_staging"]).iterdir()) == []


def two_loads(tmp_path: Path) -> tuple[Path, history.LoadRecord]:
    """A database whose first load held 1 partner and whose live (second) load holds 2."""
    from datetime import datetime

    from kpi.validate import validate
    from tests.conftest import partner, text_frame

    db = tmp_path / "kpi.duckdb"
    records = []
    for n, day in ((1, 2), (2, 9)):
        tables = validate({"partners": text_frame("partners", [partner(f"P{i}") for i in range(1, n + 1)])}).tables
        records.append(history.load_dataset(tables, db, source=f"week {n}", files=(), loaded_at=datetime(2026, 3, day)))
    return db, records[0]


def test_a_broken_database_is_named_on_every_page_and_the_data_page_restores_it(tmp_path, monkeypatch):
    db, first = two_loads(tmp_path)
    broken = db.read_bytes()[:5000]  # a copy cut short
    db.write_bytes(broken)

    at = open_page(db, monkeypatch, "overview")
    assert not at.exception
    assert "kpi.duckdb" in at.error[0].value
    assert at.get("page_link")  # the way out: the Data page

    at = open_data_page(db, monkeypatch)
    assert not at.exception
    assert "is not a Channel KPI Explorer database" in at.error[0].value
    assert "never deleted" in at.error[0].value
    choice = at.selectbox(key="data_restore_choice")
    assert [o for o in choice.options if "week 1" in o]
    choice.set_value(next(o for o in choice.options if "week 1" in o))
    at.button(key="data_restore").click().run()
    assert not at.exception and "Restored" in at.success[0].value
    assert engine_summary(db, default_view(db))["partners"] == 1
    # The broken file was moved aside, byte for byte, not deleted.
    (aside,) = history.history_dir(db).glob("unreadable-*")
    assert aside.read_bytes() == broken


def test_a_restore_onto_read_only_storage_says_so_and_changes_nothing(tmp_path, monkeypatch):
    db, _ = two_loads(tmp_path)
    before = db.read_bytes()

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(db))

    at = open_data_page(db, monkeypatch)
    monkeypatch.setattr(history.os, "replace", refuse)
    at.button(key="data_restore").click().run()
    assert not at.exception
    assert "Nothing was restored" in at.error[0].value and "Permission denied" in at.error[0].value
    assert db.read_bytes() == before


@pytest.mark.parametrize(
    ("uploaded", "shown"),
    [
        ("C:\\Users\\me\\exports\\accounts.csv", "accounts.csv"),  # a Windows path sent as the name
        ("a" * 300 + ".csv", "a" * 113 + "….csv"),  # longer than a file system allows: 120 bytes kept
        ("accounts [final]*.csv", "accounts _final__.csv"),  # what a file pattern would read
    ],
)
def test_an_upload_with_a_hostile_name_is_staged_under_a_safe_one(demo_db, monkeypatch, uploaded, shown):
    at = upload(open_data_page(demo_db, monkeypatch), (uploaded, ACCOUNTS))
    assert not at.exception and not at.error
    staged = sorted(p.name for p in Path(at.session_state["data_staging"]).iterdir())
    assert staged == [shown]
    assert [s.value for s in at.selectbox if s.label == "Load this file as"] == ["partners"]


# --- a newcomer's first visit --------------------------------------------------------------------


def test_a_newcomer_gets_the_five_tables_and_a_template_for_each_that_loads_as_it_is(demo_db, tmp_path, monkeypatch):
    db = tmp_path / "program.duckdb"
    db.write_bytes(demo_db.read_bytes())
    downloads = recorded_downloads(monkeypatch)
    at = open_data_page(db, monkeypatch)
    assert not at.exception
    guide = at.expander[0]
    assert guide.label.startswith("New here? The five tables") and guide.proto.expanded
    text = " ".join(m.value for m in guide.markdown)
    for table in TABLE_NAMES:
        assert f"**{table}**" in text
    assert "a row is one deal a partner registered" in text
    assert "Columns: `deal_id`, `partner_id`, `registered_on`, `status` (required)" in text
    templates = {table: downloads[f"data_template_{table}"] for table in TABLE_NAMES}
    assert {t.file_name for t in templates.values()} == {f"{table}.csv" for table in TABLE_NAMES}

    # The five templates, uploaded as downloaded, map to themselves and pass every rule.
    at = upload(at, *((t.file_name, t.data.encode()) for t in templates.values()))
    assert [s.value for s in at.selectbox if s.label == "Load this file as"] == list(TABLE_NAMES)
    at.button(key="data_check").click().run()
    assert any("Every row passed" in s.value for s in at.success)
    counts = next(df.value for df in at.dataframe if list(df.value.columns) == ["table", "rows"])
    assert dict(zip(counts["table"], counts["rows"], strict=True)) == dict.fromkeys(TABLE_NAMES, 2)


def test_the_data_guide_and_the_mapping_guide_read_inside_the_app(demo_db, monkeypatch):
    at = open_data_page(demo_db, monkeypatch)
    guides = {e.label: " ".join(m.value for m in e.markdown) for e in at.expander}
    data_guide = guides["The full data guide: every column and rule"]
    assert "| deals | deal_id | yes | unique |" in data_guide
    # A link to another docs file would not open inside the app: its words stay, as text.
    assert "see mapping.md\n(in the app" in data_guide and "](mapping.md)" not in data_guide
    assert data_guide.startswith("## Your data: the five tables")  # under the page's own title
    assert "## The mapping file" not in data_guide
    assert "### The mapping file" in guides["How your own exports are mapped onto the five tables"]


SPREADSHEET_DEALS = (
    b"Deal,Account ID,Registered,Stage,Closed,Amount\r\n"
    b"D-1,A-1,2026-02-01,won,2026-02-30,100\r\n"  # no 30 February
    b"D-2,A-2,2026-02-03,lost,2026-03-02,0\r\n"
    b"D-3,A-3,2026-02-05,open,,50\r\n"
)


def test_a_spreadsheets_deal_and_closed_columns_are_mapped_and_named_in_problems(demo_db, tmp_path, monkeypatch):
    db = tmp_path / "program.duckdb"
    db.write_bytes(demo_db.read_bytes())
    at = upload(open_data_page(db, monkeypatch), ("accounts.csv", ACCOUNTS), ("deals.csv", SPREADSHEET_DEALS))
    assert not at.expander[0].proto.expanded  # files in the box: the mapping is what matters now
    assert selectbox_by_label(at, "deal_id *").value == "Deal"
    assert selectbox_by_label(at, "closed_on").value == "Closed"
    at.button(key="data_check").click().run()
    problems = next(df.value for df in at.dataframe if "problem" in df.value.columns and "row" in df.value.columns)
    assert problems[["row", "column", "value", "problem"]].values.tolist() == [
        [2, "Closed (closed_on)", "2026-02-30", IMPOSSIBLE_DATE]
    ]

    # The close date left unmapped: one problem says so, not an empty value on every closed deal.
    selectbox_by_label(at, "closed_on").set_value(ui_upload.NOT_MAPPED).run()
    at.button(key="data_check").click().run()
    problems = next(df.value for df in at.dataframe if "problem" in df.value.columns and "row" in df.value.columns)
    assert problems[["row", "column", "value", "problem"]].values.tolist() == [
        [
            1,
            "closed_on",
            "",  # no value to show, rather than "None"
            "column not mapped: won and lost deals need a close date (2 row(s)); "
            "pick your column for it in the mapping or set a fixed value",
        ]
    ]
