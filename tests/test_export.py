"""Tables leaving the app (kpi.export): CSV a spreadsheet never runs, Excel with real numbers."""

from __future__ import annotations

import io

import polars as pl

from kpi import export


def test_text_a_spreadsheet_would_run_is_written_with_an_apostrophe():
    table = pl.DataFrame(
        {
            "partner_name": ['=HYPERLINK("http://x")', "+1 Partners", "-minus", "@SUM(A1)", "Plain Co", None],
            "revenue": [-5.0, 1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    rows = pl.read_csv(io.StringIO(export.csv_text(table)))
    assert rows["partner_name"].to_list() == [
        '\'=HYPERLINK("http://x")',
        "'+1 Partners",
        "'-minus",
        "'@SUM(A1)",
        "Plain Co",
        None,
    ]
    assert rows["revenue"].to_list() == [-5.0, 1.0, 2.0, 3.0, 4.0, 5.0]  # a negative number stays a number


def test_a_workbook_has_a_sheet_per_table_with_numbers_kept_as_numbers(tmp_path):
    partners = pl.DataFrame({"partner_id": ["P1", "P2"], "partner_name": ["=1+1", "B"], "revenue": [1234.5, 0.0]})
    rates = pl.DataFrame({"threshold": [1, 2], "above_win_rate": [41.5, None]})
    path = tmp_path / "book.xlsx"
    path.write_bytes(export.workbook({"partners": partners, "rates": rates}))
    back = pl.read_excel(path, sheet_name="partners")
    assert back["revenue"].to_list() == [1234.5, 0.0]
    assert back["partner_name"].to_list() == ["=1+1", "B"]  # stored as text, not as a formula
    assert pl.read_excel(path, sheet_name="rates")["above_win_rate"].to_list() == [41.5, None]


def test_the_apps_money_and_percent_columns_get_their_formats():
    columns = [
        "arr",
        "spend",
        "cost_per_activated",
        "net_new_mrr",
        "adopters_revenue_per_partner",
        "revenue_change",
        "share_pct",
        "adopters_win_rate",
        "win_rate_lift",
        "roi",
        "partners",
    ]
    formats = export._formats(pl.DataFrame({name: [1.0] for name in columns}), "€")
    money = '"€"#,##0;-"€"#,##0'
    assert formats == {
        **dict.fromkeys(columns[:6], money),
        **dict.fromkeys(columns[6:9], '0.0"%"'),
        "roi": "0.0%",
    }  # a count keeps the default number format
