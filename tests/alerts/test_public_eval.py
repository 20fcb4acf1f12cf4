"""Detection on public data no one here wrote (benchmarks/eval): a seeded sample in the suite.

The full run is `python -m benchmarks.eval.evaluate`; its numbers are in the README.
"""

import pytest

from benchmarks.eval.evaluate import TARGETS, alias_cases, evaluate_goods, evaluate_parties

# Party recall on real alias spellings is below its 0.9 target (issue 13 stays open for it):
# these floors keep what the matcher reaches today from slipping, and are raised as it
# improves. The sample reaches 0.85 on the list's own entities, 0.73 on the later ones and
# 0.66 on the sealed ones.
PARTY_RECALL_FLOOR = 0.8
LATER_RECALL_FLOOR = 0.6


@pytest.fixture(scope="module")
def parties() -> dict[str, tuple[float, int, int]]:
    return evaluate_parties(sample=600, seed=13, show=0)


def test_the_cases_come_from_the_published_list() -> None:
    entries, cases = alias_cases()
    assert len(entries) > 1500 and len(cases) > 2500
    assert all(not e.aliases for e in entries)  # the list holds primary names only
    assert sum(c.variant and c.company for c in cases) > 900


def test_ordinary_companies_rarely_match_a_listed_name(
    parties: dict[str, tuple[float, int, int]],
) -> None:
    rate, _, screened = parties["ordinary false alarms"]
    assert screened >= 1500
    assert rate <= TARGETS["ordinary false alarms"]


def test_listed_companies_are_found_under_their_published_aliases(
    parties: dict[str, tuple[float, int, int]],
) -> None:
    recall, _, cases = parties["party recall"]
    assert cases >= 150
    assert recall >= PARTY_RECALL_FLOOR


@pytest.mark.parametrize("half", ["party recall, later entities", "party recall, sealed"])
def test_entities_designated_later_are_found_under_their_other_names(
    parties: dict[str, tuple[float, int, int]], half: str
) -> None:
    recall, _, cases = parties[half]
    assert cases >= 100
    assert recall >= LATER_RECALL_FLOOR


def test_goods_as_customs_classified_them_raise_no_goods_finding() -> None:
    rate, _, rulings = evaluate_goods(show=0)["goods false alarms"]
    assert rulings >= 40
    assert rate <= TARGETS["goods false alarms"]
