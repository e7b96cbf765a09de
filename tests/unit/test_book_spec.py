"""The book file (``config.book``): aliases rename the companies a deal names, and nothing
else; the example book joins its companies under one name each."""

from __future__ import annotations

from pathlib import Path

from gpucredit.config.book import load_book, rename_companies
from gpucredit.config.loading import load_deal

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "gpucredit" / "examples"


def test_aliases_rename_companies_only() -> None:
    deal = load_deal(EXAMPLES.parent / "deals" / "cipher" / "cipher_compute_notes_2030.yaml")
    cohort = deal.fleet[0].name
    renamed = rename_companies(
        deal,
        {
            "Google (Alphabet, AA+)": "Google",
            "Fluidstack (unrated, B assumed)": "Fluidstack",
            "Cipher Compute LLC": "Cipher",
            cohort: "not a company",  # a cohort's name is not a company's: left as it is
        },
    )
    assert renamed.borrower.name == "Cipher"
    assert {c.tenant for c in renamed.contracts} == {"Fluidstack"}
    assert {c.guarantor.name for c in renamed.contracts if c.guarantor} == {"Google"}
    assert renamed.fleet[0].name == cohort
    assert renamed.name == deal.name
    # the risks typed in the deal are kept: renaming changes names, not ratings
    assert [c.rating for c in renamed.contracts] == [c.rating for c in deal.contracts]
    assert rename_companies(deal, {"nobody": "else"}) is deal


def test_the_example_book_names_each_company_once() -> None:
    book = load_book(EXAMPLES / "books" / "neocloud_contagion_book.yaml")
    tenants = {c.tenant for d in book.deals for c in d.contracts}
    parents = {d.parent.name for d in book.deals if d.parent is not None}
    assert {"CoreWeave", "OpenAI", "Fluidstack", "Meta"} <= tenants
    assert parents == {"CoreWeave"}
    assert not any("(" in name for name in tenants)  # no "CoreWeave (BB-)"-style variant left
    assert len(book.spec_hash) == 16
