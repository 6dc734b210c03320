"""The newcomer's guide (kpi.data_guide): a template per table, built from the contract, that loads."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from kpi.data_guide import GUIDE, required_and_optional, template_csv
from kpi.ingest import read_dataset
from kpi.schema import TABLE_NAMES, TABLES


def test_each_template_has_the_contracts_header_and_every_required_value() -> None:
    for table in TABLES:
        rows = list(csv.DictReader(io.StringIO(template_csv(table.name))))
        assert tuple(rows[0]) == table.column_names
        required, _ = required_and_optional(table)
        assert len(rows) == 2 and all(row[name] for row in rows for name in required), table.name


def test_the_five_templates_load_as_they_are(tmp_path: Path) -> None:
    for table in TABLE_NAMES:
        (tmp_path / f"{table}.csv").write_text(template_csv(table))
    validation = read_dataset(tmp_path)
    assert validation.ok, validation.problem_lines()
    assert validation.warnings == []
    assert {name: frame.height for name, frame in validation.tables.items()} == dict.fromkeys(TABLE_NAMES, 2)
    deals = validation.tables["deals"]
    assert deals.filter(deals["status"] == "won")["mrr"].to_list() == [400.0]


def test_the_guide_says_what_a_row_is_for_every_table_in_the_contracts_order() -> None:
    assert [table.name for table, _ in GUIDE] == list(TABLE_NAMES)
    assert all(means.startswith("one ") for _, means in GUIDE)
    assert required_and_optional(TABLES[0]) == (
        ("partner_id", "partner_name", "joined_on"),
        ("left_on", "region", "partner_type", "channel_manager"),
    )
