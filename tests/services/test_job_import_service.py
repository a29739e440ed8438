"""CSV parsing of the bulk import (the part that runs in a worker thread)."""

from __future__ import annotations

import pytest

from services.job_import import CsvRow, CsvUnreadable, parse_csv, row_payload


def test_semicolon_exports_are_understood() -> None:
    content = b"Job Name;Cron Schedule (JST);End Date;PIC Team\na;0 1 * * *;2026-12-31;t\n"

    parsed = parse_csv(content)

    assert parsed.rows[0].values == {
        "name": "a",
        "cron_expression": "0 1 * * *",
        "end_date": "2026-12-31",
        "pic_team": "t",
    }
    assert parsed.cron_timezone == "Asia/Tokyo"


def test_a_plain_cron_column_uses_the_default_time_zone() -> None:
    parsed = parse_csv(b"name,cron_expression,end_date,pic_team\na,0 1 * * *,2026-12-31,t\n")

    assert parsed.cron_timezone is None


def test_two_columns_for_one_field_are_refused() -> None:
    with pytest.raises(CsvUnreadable, match="both give name"):
        parse_csv(b"Job Name,name,cron,end date,pic team\n")


def test_blank_lines_above_the_header_still_count_as_rows() -> None:
    parsed = parse_csv(b"\n\nname,cron,end date,pic team\na,0 1 * * *,2026-12-31,t\n")

    assert [row.number for row in parsed.rows] == [4]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"status": "Disabled"}, {"is_active": False}),
        ({"status": "ENABLE"}, {"is_active": True}),
        ({"end_date": "2026/1/5"}, {"end_date": "2026-01-05"}),
        ({"repo": "acme/etl"}, {"github_owner": "acme", "github_repo": "etl"}),
        ({"repo": "etl"}, {"github_owner": "fallback", "github_repo": "etl"}),
        ({"branch": "dev"}, {"metadata": {"branchDetails": "dev"}}),
        (
            {"request_body": '{"branchDetails": "main", "x": 1}', "branch": "dev"},
            {"metadata": {"branchDetails": "main", "x": 1}},
        ),
        ({"category": "", "target_url": ""}, {}),
    ],
)
def test_row_payload(values: dict[str, str], expected: dict[str, object]) -> None:
    payload = row_payload(CsvRow(2, values), "fallback", None)

    assert payload == expected
