"""Shared fixtures: the shipped example deals and small hand-made deals."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import settings

import gpucredit
from gpucredit.config.loading import parse_deal
from gpucredit.config.miner import is_miner_data, parse_miner
from gpucredit.config.spec import DealSpec
from gpucredit.debt.facilities import (
    EquityTerms,
    FacilityTerms,
    RefinancingTerms,
    StructureTerms,
    default_steps,
)
from gpucredit.debt.terms import AmortKind, LoanTerms
from gpucredit.errors import SpecError
from tests._calibrated import BOOK_DATES, seed

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "src" / "gpucredit" / "examples"
#: The shipped book of real deals, one folder per borrower (``gpucredit.deals``).
DEALS = ROOT / "src" / "gpucredit" / "deals"


def _is_miner(path: Path) -> bool:
    return is_miner_data(yaml.safe_load(path.read_text(encoding="utf-8")))


#: The GPU deal examples (``DealSpec``); the miner examples (``MinerSpec``) apart.
EXAMPLE_FILES = sorted(p for p in EXAMPLES.glob("*.yaml") if not _is_miner(p))
MINER_FILES = sorted(p for p in EXAMPLES.glob("*.yaml") if _is_miner(p))


@pytest.fixture(params=EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def example_deal(request: pytest.FixtureRequest) -> DealSpec:
    return gpucredit.load_deal(request.param)


def hand_deal_data() -> dict[str, Any]:
    """A small deterministic deal: 100 GPUs all on a take-or-pay contract, a 3-month loan.

    Chosen so that every number is easy to compute by hand (1 kW per GPU, round prices).
    """
    return {
        "name": "hand",
        "as_of": "2026-07-31",
        "borrower": {"name": "Hand SPV"},
        "fleet": [
            {
                "name": "c1",
                "generation": "H100",
                "units": 100,
                "purchase_date": "2026-07-31",
                "unit_cost_usd": 20000,
                "power_kw_per_gpu": 1.0,
            }
        ],
        "contracts": [
            {
                "tenant": "T",
                "annual_pd_pct": 0.0,
                "cohort": "c1",
                "units": 100,
                "rate_usd_per_gpu_hour": 2.0,
                "start": "2026-07-31",
                "end": "2027-07-31",
                "take_or_pay": True,
            }
        ],
        "opex": {
            "power_price_usd_per_mwh": 100.0,
            "pue": 1.5,
            "colocation_usd_per_kw_month": 100.0,
            "sga_share_of_revenue": 0.10,
        },
        "loan": {
            "name": "L",
            "principal_usd": 300000.0,
            "rate": {"kind": "fixed", "coupon_pct": 12.0},
            "tenor_months": 3,
            "amortisation": {"kind": "straight_line"},
        },
    }


def make_deal(data: dict[str, Any], **changes: Any) -> DealSpec:
    """Validate ``data`` with top-level ``changes`` applied (nested dicts are replaced)."""
    merged = copy.deepcopy(data)
    merged.update(changes)
    return DealSpec.model_validate(merged)


def spec_path(stem: str) -> Path:
    """An example's file (``merchant_h100``), or a shipped deal's (``coreweave/ddtl4_spv``)."""
    example = EXAMPLES / f"{stem}.yaml"
    return example if example.exists() else DEALS / f"{stem}.yaml"


def load_example_data(stem: str) -> dict[str, Any]:
    """An example's or a shipped deal's raw data, without its ``sources`` and
    ``assumptions``: tests edit, rename and delete the fields those keys name."""
    data = yaml.safe_load(spec_path(stem).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    data.pop("sources", None)
    data.pop("assumptions", None)
    return data


def without_operator_bankruptcy(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without the operator-bankruptcy fields (contracts terminated on the servicer's
    default, the parent's stay and legal cost): the deal as written before them, for tests of
    other features of the CoreWeave SPV examples."""
    for contract in data.get("contracts", []):
        contract.pop("terminates_on_servicer_default", None)
    for key in ("stay_months", "bankruptcy_cost_pct"):
        (data.get("parent") or {}).pop(key, None)
    return data


@pytest.fixture(autouse=True, scope="session")
def _terminal_width_of_a_pipe() -> Iterator[None]:
    """The tests read tables at the width the CLI gives a pipe without ``COLUMNS``
    (``cli.output``); a ``COLUMNS`` exported by the shell running the suite would wrap them
    otherwise. A test that needs a width sets it (``monkeypatch.setenv``)."""
    before = os.environ.pop("COLUMNS", None)
    yield
    if before is not None:
        os.environ["COLUMNS"] = before


@pytest.fixture(autouse=True, scope="session")
def _private_market_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every test (and every CLI subprocess it starts) uses a market store of its own test
    session, never the user's data directory; a test that needs another sets GPUCREDIT_DB."""
    path = tmp_path_factory.mktemp("store") / "market.duckdb"
    before = os.environ.get("GPUCREDIT_DB")
    os.environ["GPUCREDIT_DB"] = str(path)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # the whole suite (``pytest -n 2``): the store starts with the calibrations its runs
        # would fit (tests/_calibrated.py), each fitted once for both workers; a run of a few
        # tests without xdist fits only those it needs, as the CLI does
        seed(tmp_path_factory, path, BOOK_DATES)
    yield
    if before is None:
        os.environ.pop("GPUCREDIT_DB", None)
    else:
        os.environ["GPUCREDIT_DB"] = before


# Hypothesis draws the same examples on every run and machine: a red test is reproducible.
settings.register_profile("repeatable", derandomize=True, deadline=None)
settings.load_profile("repeatable")


def plain_loan_terms(
    name: str, principal: float, tenor: int, coupon: float, kind: AmortKind = "bullet"
) -> LoanTerms:
    """Engine terms of a plain fixed-rate loan (no DSRA, no covenants), for hand-made cases."""
    return LoanTerms(
        name=name,
        principal_usd=principal,
        tenor_months=tenor,
        floating=False,
        fixed_coupon=coupon,
        margin=0.0,
        floor=0.0,
        amortisation=kind,
        schedule_share=np.zeros(tenor),
        issue_price=1.0,
        dsra_months=0.0,
        covenants=(),
        refinancing_max_ltv=0.6,
    )


def convertible_pair(
    tenors: tuple[int, int],
    *,
    coupon: float,
    conversion_price_usd: float,
    max_ltv: float,
    enterprise: bool,
    window: int,
    shares: float,
) -> StructureTerms:
    """Two convertible bullets of 100 USD at one rank, due in months ``tenors``, each
    refinanced at maturity (an open market needed, 3% / 6% spreads) by the collateral or the
    enterprise test (``enterprise``); the share price a diffusion from 10 USD over ``shares``
    shares, for hand-made refinancing cases."""
    refi = RefinancingTerms(
        max_ltv=max_ltv,
        needs_open_market=True,
        spread=(0.03, 0.06),
        enterprise=enterprise,
        window_months=window,
    )
    facilities = tuple(
        FacilityTerms(
            loan=plain_loan_terms(name, 100.0, tenor, coupon),
            kind="convertible",
            conversion_price_usd=conversion_price_usd,
            refinancing=refi,
        )
        for name, tenor in zip(("a", "b"), tenors, strict=True)
    )
    return StructureTerms(
        facilities, default_steps(facilities), EquityTerms(10.0, shares, "diffusion")
    )


#: The shipped book of real deals (issue 15): ``deals/<borrower>/<instrument>.yaml``.
SHIPPED_DEALS = ROOT / "src" / "gpucredit" / "deals"


def load_shipped_data(relative: str) -> dict[str, Any]:
    """The data of the shipped deal ``deals/<relative>.yaml`` without ``sources`` and
    ``assumptions``: tests that edit a deal's numbers would leave its provenance keys stale."""
    data = yaml.safe_load((SHIPPED_DEALS / f"{relative}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    data.pop("sources", None)
    data.pop("assumptions", None)
    return data


def deal_refusal(data: dict[str, Any]) -> str:
    """The message a deal document ``data`` (read as ``deal.yaml``) is refused with; the test
    fails if it is accepted."""
    with pytest.raises(SpecError) as info:
        parse_deal(yaml.safe_dump(data, sort_keys=False), source="deal.yaml")
    return str(info.value)


def miner_refusal(data: dict[str, Any]) -> str:
    """The message a miner document ``data`` (read as ``miner.yaml``) is refused with; the
    test fails if it is accepted."""
    with pytest.raises(SpecError) as info:
        parse_miner(yaml.safe_dump(data, sort_keys=False), source="miner.yaml")
    return str(info.value)
