"""The shipped book of real deals (``gpucredit.deals``) against its sources: every file is a
valid spec, every scalar field is either sourced or a labelled assumption, every source is a
URL or a row of ``data/deals.csv``, and every row of ``data/deals.csv`` is modelled."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import gpucredit
from gpucredit.config.miner import is_miner_data
from gpucredit.config.provenance import ROW_PREFIX, deal_rows, uncovered_fields
from gpucredit.deals import BORROWERS, shipped_deals

#: Rows of data/deals.csv that no shipped file models yet, each with the reason. The test
#: fails when a row is neither modelled nor listed here, and when a listed row is modelled.
NOT_YET_MODELLED: dict[str, str] = {}  # deals.csv row -> why it is not modelled yet

DEALS = shipped_deals()
_URL = re.compile(r"^https?://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(:[0-9]+)?(/\S*)?$")


def _data(path: Path) -> dict[str, object]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def test_the_book_ships_per_borrower_folders() -> None:
    assert DEALS, "the package ships its book of real deals"
    assert sorted(DEALS) == DEALS
    assert {p.parent.name for p in DEALS} <= set(BORROWERS)
    assert "coreweave" in {p.parent.name for p in DEALS}


@pytest.mark.parametrize("path", DEALS, ids=_id)
def test_each_deal_validates_against_the_spec_schema(path: Path) -> None:
    if is_miner_data(_data(path)):
        gpucredit.load_miner(path)
    else:
        gpucredit.load_deal(path)


@pytest.mark.parametrize("path", DEALS, ids=_id)
def test_each_deal_sources_or_assumes_every_field(path: Path) -> None:
    data = _data(path)
    assert data.get("sources"), "a real deal cites at least one public source"
    assert uncovered_fields(data) == []


@pytest.mark.parametrize("path", DEALS, ids=_id)
def test_each_source_is_a_url_or_a_deals_row_with_a_url(path: Path) -> None:
    sources = _data(path).get("sources")
    assert isinstance(sources, dict)
    rows = deal_rows()
    for key, value in sources.items():
        assert isinstance(value, str), key
        if value.startswith(ROW_PREFIX):
            row = rows[value[len(ROW_PREFIX) :]]
            assert _URL.match(row["source"]), (key, value)
            assert row["source_2"] == "" or _URL.match(row["source_2"]), (key, value)
        else:
            assert _URL.match(value), (key, value)


def test_every_row_of_deals_csv_is_modelled_or_listed_as_not_yet() -> None:
    referenced: set[str] = set()
    for path in DEALS:
        sources = _data(path).get("sources")
        assert isinstance(sources, dict)
        referenced |= {
            v[len(ROW_PREFIX) :] for v in sources.values() if str(v).startswith(ROW_PREFIX)
        }
    rows = set(deal_rows())
    assert set(NOT_YET_MODELLED) <= rows, "a listed row that data/deals.csv no longer has"
    assert rows - referenced - set(NOT_YET_MODELLED) == set(), "rows neither modelled nor listed"
    assert referenced & set(NOT_YET_MODELLED) == set(), "modelled now: drop from NOT_YET_MODELLED"
