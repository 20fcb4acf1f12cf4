"""The rule catalogue. Each rule is a pure function of a declaration's facts."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from alerts.reference import ReferenceData
from alerts.rules.base import DeclarationFacts, Finding, Rule
from alerts.rules.category_mismatch import FAMILIES, CategoryMismatch, CivilianClaimMilitaryGoods
from alerts.rules.controlled_goods import ControlledGoodsToRestricted, MilitaryGoodsToDiversionHub
from alerts.rules.controls import ControlMatcher
from alerts.rules.restricted_party import RestrictedParty
from alerts.rules.transshipment import DiversionRoute
from alerts.text import Lexicon
from schemas.wire import DeclarationRecord as Declaration


@dataclass(frozen=True)
class CatalogueOptions:
    """What users may change without editing reference files."""

    restricted_destinations: frozenset[str] | None = None
    """None: the shipped list (Russia, Belarus)."""
    extra_watchlists: Sequence[Path] = field(default_factory=tuple)
    party_match_threshold: float = 85
    name_analysis_dir: Path | None = None
    """Where the analysis of listed names is kept between starts (None: not kept)."""


@dataclass(frozen=True)
class Catalogue:
    """The rules, and the one lexicon automaton whose matches they share."""

    rules: list[Rule]
    lexicon: Lexicon
    controls: ControlMatcher
    restricted_destinations: frozenset[str] = frozenset()
    diversion_countries: frozenset[str] = frozenset()

    def on_risky_route(self, declaration: Declaration) -> bool:
        """Bound for a restricted or diversion-risk country, or rerouted through one."""
        return (
            declaration.destination_country in self.restricted_destinations
            or declaration.destination_country in self.diversion_countries
            or (
                declaration.dispatch_country in self.diversion_countries
                and declaration.dispatch_country != declaration.origin_country
            )
        )


def build_catalogue(reference: ReferenceData, options: CatalogueOptions | None = None) -> Catalogue:
    """Every rule tradewatch runs by default, built over one set of reference data."""
    options = options or CatalogueOptions()
    restricted = options.restricted_destinations or reference.countries(
        "destinations", "restricted_destinations"
    )
    controls = ControlMatcher(reference)
    rules: list[Rule] = [CategoryMismatch.build(f, reference, restricted) for f in FAMILIES]
    rules += [
        CivilianClaimMilitaryGoods.build(reference, restricted),
        ControlledGoodsToRestricted.build(reference, restricted, controls),
        MilitaryGoodsToDiversionHub.build(reference, restricted, controls),
        DiversionRoute.build(reference, restricted, controls),
        RestrictedParty.build(
            reference,
            restricted,
            options.extra_watchlists,
            options.party_match_threshold,
            options.name_analysis_dir,
        ),
    ]
    return Catalogue(
        rules,
        reference.combined_lexicon(),
        controls,
        restricted,
        reference.countries("destinations", "diversion_risk"),
    )


__all__ = [
    "Catalogue",
    "CatalogueOptions",
    "DeclarationFacts",
    "Finding",
    "Rule",
    "build_catalogue",
]
