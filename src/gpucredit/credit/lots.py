"""Collateral lots: the fleet's cohorts split by the contracts pledged to facilities.

Tiers of one financing can be secured by different contracts (CoreWeave's DDTL 2.0: draws
backed by specified investment-grade contracts, other investment-grade contracts and
non-investment-grade contracts, ``data/deals.csv`` CRWV-DDTL2). A facility that names
``secured_by_contracts`` is secured by the GPUs under those contracts: each such contract is a
lot of its cohort holding the contract's units, and what the pledged contracts leave of a
cohort is one more lot. A lot's value is its cohort's value times its share of the cohort's
units (``units_lot / units_cohort``, ASSUMPTION: GPUs of one cohort are worth the same whoever
rents them; the contract's own value at default is the assignment uplift of
``credit.contracts``, shared as today). The engines see the lots in place of the cohorts
(a facility's ``pool`` holds lot indices), and the recovery, split across cohorts pro rata to
value, is split on to the lots the same way (``credit.allocation``). A deal whose facilities
name no contracts has no lots: nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from gpucredit._typing import Float64Array, Int64Array
from gpucredit.config.spec import DealSpec
from gpucredit.debt.facilities import StructureTerms

__all__ = ["CollateralLots", "collateral_lots", "with_lots"]


@dataclass(frozen=True, slots=True)
class CollateralLots:
    """The lots of a deal (L of them), cohort by cohort: its pledged contracts, then the rest.

    Attributes
    ----------
    names : tuple of str, length L
        ``cohort/contract`` for a contract's lot, ``cohort`` for the rest of the cohort.
    cohort : ndarray of int, shape (L,)
        The cohort of each lot.
    fraction : ndarray, shape (L,)
        Each lot's share of its cohort's units (the rest's may be 0).
    contract_lot : dict of str to int
        The lot of each pledged contract, by contract name.
    lot_of_contract : ndarray of int, shape (contract,)
        The lot each of the deal's contracts sits in: its own when pledged, else the rest of
        its cohort (where its assignment value goes at default).
    """

    names: tuple[str, ...]
    cohort: Int64Array
    fraction: Float64Array
    contract_lot: dict[str, int]
    lot_of_contract: Int64Array

    def values(self, cohort_value_usd: Float64Array) -> Float64Array:
        """Lot values from cohort values, (..., cohort) -> (..., lot), USD."""
        return np.ascontiguousarray(cohort_value_usd[..., self.cohort] * self.fraction)

    def split(
        self,
        proceeds_usd: Float64Array,
        contracts_usd: Float64Array,
        cohort_share: Float64Array,
        contracts_by_lot_usd: Float64Array | None,
    ) -> Float64Array:
        """Each lot's part of the sale proceeds, (n, lot), USD.

        ``proceeds_usd`` (n,) holds the hardware's net proceeds plus ``contracts_usd`` (n,),
        the surviving contracts' assignment value; ``cohort_share`` (n, cohort) each cohort's
        share of the appraised value. The hardware's part goes to the lots by
        ``cohort_share[cohort] x fraction``; the contracts' part to the lots of
        ``contracts_by_lot_usd`` (n, lot), or with the hardware when it is ``None``.
        """
        share = cohort_share[:, self.cohort] * self.fraction
        if contracts_by_lot_usd is None or proceeds_usd.size == 0:
            return np.asarray(proceeds_usd[:, None] * share, dtype=np.float64)
        hardware = proceeds_usd - contracts_usd
        return np.asarray(hardware[:, None] * share + contracts_by_lot_usd, dtype=np.float64)

    def by_lot(self, by_contract: Float64Array) -> Float64Array:
        """Per-contract amounts (n, contract) summed into their lots (n, lot)."""
        out = np.zeros((by_contract.shape[0], self.cohort.size))
        for k, lot in enumerate(self.lot_of_contract.tolist()):
            out[:, lot] += by_contract[:, k]
        return out


def collateral_lots(deal: DealSpec) -> CollateralLots | None:
    """The deal's lots; ``None`` when no facility names ``secured_by_contracts``."""
    pledged = {name for f in deal.facilities for name in f.secured_by_contracts or []}
    if not pledged:
        return None
    names: list[str] = []
    cohorts: list[int] = []
    fractions: list[float] = []
    contract_lot: dict[str, int] = {}
    rest: dict[str, int] = {}
    for c, cohort in enumerate(deal.fleet):
        left = cohort.units
        for contract in deal.contracts:
            if contract.cohort != cohort.name or contract.name not in pledged:
                continue
            contract_lot[contract.name] = len(names)
            names.append(f"{cohort.name}/{contract.name}")
            cohorts.append(c)
            fractions.append(contract.units / cohort.units)
            left -= contract.units
        rest[cohort.name] = len(names)
        names.append(cohort.name)
        cohorts.append(c)
        fractions.append(max(left, 0) / cohort.units)
    return CollateralLots(
        names=tuple(names),
        cohort=np.array(cohorts, dtype=np.int64),
        fraction=np.array(fractions, dtype=np.float64),
        contract_lot=contract_lot,
        lot_of_contract=np.array(
            [
                contract_lot[k.name] if k.name in contract_lot else rest[k.cohort]
                for k in deal.contracts
            ],
            dtype=np.int64,
        ),
    )


def with_lots(structure: StructureTerms, deal: DealSpec, lots: CollateralLots) -> StructureTerms:
    """``structure`` with each facility's pool on the lot axis: the lots of its contracts for
    a facility secured by contracts, else every lot of the cohorts it was secured by."""
    facilities = []
    for spec, terms in zip(deal.facilities, structure.facilities, strict=True):
        if spec.secured_by_contracts is not None:
            pool = tuple(lots.contract_lot[name] for name in spec.secured_by_contracts)
            facilities.append(replace(terms, pool=pool, secured=True))
            continue
        cohorts = set(terms.pool)
        pool = tuple(j for j, c in enumerate(lots.cohort.tolist()) if c in cohorts)
        facilities.append(replace(terms, pool=pool))
    return replace(structure, facilities=tuple(facilities))
