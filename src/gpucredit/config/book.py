"""A book of loans (issue 14): the deals a holder has positions in, over one company registry.

A book YAML names deal files (relative to the book file) and, per position, how much of
which facility is held. Companies that the deal files name differently are joined by
``aliases``; a company's risk may be set once for the whole book in ``companies`` (the same
company must be one default time in every deal, so its PD must be one number). ``abs`` lays a
GPU ABS (note classes over a pool of the positions) on top. ``transmission`` and
``fire_sale`` switch the two contagion channels (``docs/book.md``).

Example::

    book: Neo-cloud contagion book
    aliases: {"CoreWeave (BB-)": CoreWeave}
    companies: {CoreWeave: {rating: B+}}
    positions:
      - deal: ../../deals/coreweave/ddtl4_spv.yaml
        held_pct: 10
      - deal: ../../deals/applied_digital/computeco_notes_2030.yaml
        held_usd: 50_000_000
        facility: senior_notes
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, ValidationError, field_validator, model_validator

from gpucredit.config.loading import (
    SpecDocument,
    load_deal,
    read_document,
    spec_hash,
    validate_document,
)
from gpucredit.config.provenance import rename_selectors
from gpucredit.config.spec import MAX_ITEMS, DealSpec, Spec, SpecProblem, _rating_category
from gpucredit.errors import SpecError, SpecIssue

__all__ = [
    "AbsClassSpec",
    "AbsSpec",
    "Book",
    "BookCompanySpec",
    "BookSpec",
    "PositionSpec",
    "is_book_data",
    "load_book",
    "rename_companies",
]


class PositionSpec(Spec):
    """One holding: a facility of a deal (every facility when ``facility`` is omitted).

    ``held_pct`` (percent of each facility's principal, default 100: the whole facility) or
    ``held_usd`` (face amount, USD, of one named facility): at most one.
    """

    deal: str = Field(min_length=1)
    facility: str | None = Field(default=None, min_length=1)
    held_pct: Annotated[float, Field(gt=0.0, le=100.0)] | None = None
    held_usd: Annotated[float, Field(gt=0.0)] | None = None
    #: A label for the position in the tables (default: the facility's name and the deal's).
    name: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _amount(self) -> Self:
        if self.held_pct is not None and self.held_usd is not None:
            raise SpecProblem("held_usd", self.held_usd, "at most one of 'held_pct' or 'held_usd'")
        if self.held_usd is not None and self.facility is None:
            raise SpecProblem(
                "facility", None, "the facility a 'held_usd' amount is of (its name in the deal)"
            )
        return self

    @property
    def share_pct(self) -> float | None:
        """The percent held when given as one (None: ``held_usd``)."""
        if self.held_usd is not None:
            return None
        return 100.0 if self.held_pct is None else self.held_pct


class BookCompanySpec(Spec):
    """A company's risk for the whole book: a ``rating`` or an ``annual_pd_pct`` (exactly one),
    read through the cycle as in a deal. It replaces what the deal files say of the company."""

    rating: str | None = None
    annual_pd_pct: Annotated[float, Field(ge=0.0, lt=100.0)] | None = None

    @field_validator("rating")
    @classmethod
    def _rating(cls, value: str | None) -> str | None:
        return _rating_category(value)

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.rating is None) == (self.annual_pd_pct is None):
            raise SpecProblem(
                "rating", self.rating, "exactly one of 'rating' or 'annual_pd_pct' to be given"
            )
        return self


class AbsClassSpec(Spec):
    """One note class of the ABS: its share of the pool and its coupon, with optional OC and IC
    triggers (minimum ratios, e.g. 1.10)."""

    name: str = Field(min_length=1)
    size_pct: Annotated[float, Field(gt=0.0, lt=100.0)]
    coupon_pct: Annotated[float, Field(ge=0.0, lt=100.0)]
    oc_trigger: Annotated[float, Field(gt=0.0, le=10.0)] | None = None
    ic_trigger: Annotated[float, Field(gt=0.0, le=10.0)] | None = None


class AbsSpec(Spec):
    """A GPU ABS over a pool of the book's positions (``book.tranches``): note classes senior
    first (the rest of the pool is the equity), sequential or pro-rata principal and a reserve
    account (its target in percent of the pool's balance, funded at closing to the target)."""

    classes: list[AbsClassSpec] = Field(min_length=1, max_length=10)
    principal: Literal["sequential", "pro_rata"] = "sequential"
    reserve_pct: Annotated[float, Field(ge=0.0, lt=100.0)] = 0.0
    #: The positions in the pool, by their names in the book's tables; None: every position.
    positions: list[str] | None = Field(default=None, min_length=1, max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def _sizes(self) -> Self:
        total = sum(c.size_pct for c in self.classes)
        if not total < 100.0:
            raise SpecProblem(
                "classes", f"{total:g}% in all", "note classes of less than 100% of the pool"
            )
        names = [c.name for c in self.classes]
        if len(set(names)) != len(names) or "equity" in names:
            raise SpecProblem("classes", names, "distinct class names other than 'equity'")
        return self


class BookSpec(Spec):
    """A book: its name, its positions, the companies' aliases and risks, the contagion
    switches and an optional ABS."""

    book: str = Field(min_length=1)
    notes: str = ""
    positions: list[PositionSpec] = Field(min_length=1, max_length=MAX_ITEMS)
    #: A name a deal file uses -> the company's one name in the book.
    aliases: dict[str, str] = Field(default_factory=dict)
    companies: dict[str, BookCompanySpec] = Field(default_factory=dict)
    #: A borrower's default in one deal reaches the deals that name it (tenant, guarantor,
    #: parent, servicer) in the same month.
    transmission: bool = True
    #: Every defaulted deal's collateral is sold into the same secondary markets as the others'.
    fire_sale: bool = True
    abs: AbsSpec | None = None

    @model_validator(mode="after")
    def _aliases(self) -> Self:
        for name, target in self.aliases.items():
            if not name.strip() or not target.strip():
                raise SpecProblem(f"aliases.{name}", target, "non-empty company names")
            if target in self.aliases and self.aliases[target] != target:
                raise SpecProblem(
                    f"aliases.{name}",
                    target,
                    "a final company name (one that is not itself an alias)",
                )
        return self


def is_book_data(data: object) -> bool:
    """Whether parsed YAML is a book (it has ``book`` and ``positions``) rather than a deal."""
    return isinstance(data, dict) and "positions" in data and "book" in data


@dataclass(frozen=True, slots=True)
class Book:
    """A validated book: its spec, its file, each position's deal (renamed to the book's
    company names) and the YAML line of each field (for messages naming a line)."""

    spec: BookSpec
    source: Path | None
    deals: tuple[DealSpec, ...]
    #: Index into ``deals`` of each position.
    position_deal: tuple[int, ...]
    document: SpecDocument | None = None

    @property
    def spec_hash(self) -> str:
        """A stable 16-hex-digit hash of the book and every deal it holds (as renamed)."""
        parts = [spec_hash(self.spec), *(spec_hash(d) for d in self.deals)]
        return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:16]

    def deal_field(self, deal: int) -> str:
        """The field of the first position holding deal ``deal``: ``positions[i].deal``."""
        return f"positions[{self.position_deal.index(deal)}].deal"

    def issue(self, field: str, value: object, expected: str) -> SpecError:
        """A ``SpecError`` on the book file naming ``field`` (dotted path) and its line."""
        line = None
        if self.document is not None:
            key = tuple(int(p) if p.isdigit() else p for p in field.replace("]", "").split("["))
            parts: list[Any] = []
            for p in key:
                parts.extend(str(p).split(".") if isinstance(p, str) else [p])
            path = tuple(int(p) if isinstance(p, str) and p.isdigit() else p for p in parts)
            while path and line is None:
                line = self.document.lines.get(path)
                path = path[:-1]
        return SpecError(self.source, [SpecIssue(field, value, expected, line=line)])


def _alias(item: Any, key: str, aliases: dict[str, str]) -> None:
    """Replace ``item[key]`` by its book name when ``item`` is a mapping naming an alias."""
    if isinstance(item, dict) and isinstance(item.get(key), str):
        item[key] = aliases.get(item[key], item[key])


def rename_companies(deal: DealSpec, aliases: dict[str, str]) -> DealSpec:
    """``deal`` with every company name in ``aliases`` replaced by the book's name for it: the
    borrower's, each contract's tenant and guarantor (the growth plan's new contracts' too), the
    parent's, and the deal's own entities' names and parents. The same deal when none is
    aliased; nothing else (deal, facility, cohort, contract names) is touched."""
    if not aliases:
        return deal
    data = deal.model_dump(mode="python", by_alias=True)
    before = copy.deepcopy(data)
    _alias(data.get("borrower"), "name", aliases)
    _alias(data.get("parent"), "name", aliases)
    for contract in data.get("contracts") or []:
        _alias(contract, "tenant", aliases)
        _alias(contract.get("guarantor"), "name", aliases)
    for entity in data.get("entities") or []:
        _alias(entity, "name", aliases)
        _alias(entity, "parent", aliases)
    growth = data.get("growth")
    if isinstance(growth, dict):
        _alias(growth.get("new_contracts"), "tenant", aliases)
    # provenance keys that select a contract by its tenant, or an entity by its name, follow
    rename_selectors(before, data, "contracts")
    rename_selectors(before, data, "entities")
    if data == before:
        return deal
    return DealSpec.model_validate(data)


def _deal_path(book_file: Path | None, value: str) -> Path:
    base = Path(".") if book_file is None else book_file.parent
    return (base / value).resolve()


def load_book(path: str | Path, document: SpecDocument | None = None) -> Book:
    """Read and validate a book YAML file and every deal it names (``document``: the book file
    already read and parsed, ``config.loading.read_document``; read here when None).

    Raises
    ------
    SpecError
        The book or a deal file cannot be used; the message names the file, the field and its
        line, the value and what was expected. A deal that is a miner is refused (a book holds
        GPU deals).
    """
    source = Path(path)
    if document is None:
        document = read_document(source, what="book")
    spec = validate_document(BookSpec, document, what="book")
    probe = Book(spec, source, (), (), document)
    files: dict[Path, int] = {}
    deals: list[DealSpec] = []
    position_deal: list[int] = []
    for i, pos in enumerate(spec.positions):
        file = _deal_path(source, pos.deal)
        if not file.is_file():
            raise probe.issue(
                f"positions[{i}].deal", pos.deal, f"a deal YAML file (looked for {file})"
            )
        if file not in files:
            deal_doc = read_document(file, what="deal")
            if isinstance(deal_doc.data, dict) and "mining" in deal_doc.data:
                raise probe.issue(
                    f"positions[{i}].deal",
                    pos.deal,
                    "a GPU deal file (a miner cannot be held in a book yet)",
                )
            deal = load_deal(file)
            files[file] = len(deals)
            try:
                deals.append(rename_companies(deal, dict(spec.aliases)))
            except (ValidationError, SpecError) as exc:
                raise probe.issue(
                    "aliases",
                    f"deal {deal.name!r} renamed",
                    f"aliases that keep the deal valid ({str(exc).splitlines()[0]})",
                ) from None
        position_deal.append(files[file])
    as_of = {d.as_of for d in deals}
    if len(as_of) > 1:
        first = deals[0]
        other = next(d for d in deals if d.as_of != first.as_of)
        raise probe.issue(
            "positions",
            f"{first.name!r} as of {first.as_of}, {other.name!r} as of {other.as_of}",
            "deals of one as-of date (a book's deals share their factor paths from one date)",
        )
    names = [d.name for d in deals]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise probe.issue("positions", dup, "deal files with distinct deal names")
    return Book(spec, source, tuple(deals), tuple(position_deal), document)
