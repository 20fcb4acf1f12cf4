"""category_mismatch: what the goods are contradicts the heading they were declared under.

Each family pairs a lexicon (what the goods are) with the headings that would hide them:
- military-pattern firearms declared as sporting or hunting arms, their parts, or toys;
- body armour, ballistic plates and helmets declared as clothing, plastics or metal articles;
- unmanned aircraft and their parts declared as toys, data-processing parts or electrical goods.
A separate rule catches text that claims a civilian end use for plainly military goods.
"""

from dataclasses import dataclass, field

from alerts.display import printable
from alerts.hs import HsCodeSet, hs_display
from alerts.reference import ReferenceData
from alerts.rules.base import (
    DeclarationFacts,
    Finding,
    declaration_finding,
    shipment_line,
    spelling_evidence,
    terms_evidence,
)
from schemas.alert import AlertCategory, Severity


@dataclass(frozen=True)
class MismatchFamily:
    """What a family of goods is, where it should be declared, and where it must not hide."""

    key: str
    goods: str  # "firearm", "body armour", ...
    lexicon: str
    named_groups: frozenset[str]
    generic_groups: frozenset[str]
    group_labels: dict[str, str]
    declared_groups: tuple[str, ...]
    belongs_in: str
    toy_groups: tuple[str, ...] = ()
    """Headings where toy wording ("toy", "игрушка", "玩具") makes the declaration plausible."""
    generic_needs_risky_route: bool = False
    """Generic terms alone alert only to a restricted destination or via a diversion country."""


FAMILIES: tuple[MismatchFamily, ...] = (
    MismatchFamily(
        key="military_firearm",
        goods="firearm",
        lexicon="military_firearms",
        named_groups=frozenset({"kalashnikov", "ar_m16", "cq_qbz", "other_military"}),
        generic_groups=frozenset({"generic_military"}),
        group_labels={
            "kalashnikov": "Kalashnikov-pattern",
            "ar_m16": "AR/M16-pattern",
            "cq_qbz": "Chinese QBZ/CQ-family",
            "other_military": "Standard-issue military",
            "generic_military": "Military-function",
        },
        declared_groups=("sporting_firearms", "toys"),
        belongs_in="military weapons belong in 9301",
        toy_groups=("toys",),
    ),
    MismatchFamily(
        key="body_armour",
        goods="ballistic protection",
        lexicon="body_armour",
        named_groups=frozenset({"body_armour"}),
        generic_groups=frozenset(),
        group_labels={"body_armour": "Body armour"},
        declared_groups=("ordinary_clothing", "plastics_articles", "base_metal_articles"),
        belongs_in="ballistic protection is Military List item ML13 and needs a licence",
    ),
    MismatchFamily(
        key="uav",
        goods="unmanned aircraft",
        lexicon="uav",
        named_groups=frozenset({"drone"}),
        generic_groups=frozenset({"drone_component"}),
        group_labels={"drone": "Drone", "drone_component": "Drone component"},
        # 8802/8803 held drones before HS 2022 split them out into 8806 and 8807.
        declared_groups=("toys", "adp_parts", "generic_electrical", "uav_legacy"),
        belongs_in="since HS 2022 unmanned aircraft belong in 8806 and their parts in 8807",
        toy_groups=("toys",),
        generic_needs_risky_route=True,
    ),
)


@dataclass(frozen=True)
class CategoryMismatch:
    """Goods named in the text as one family, declared under a heading that hides it."""

    family: MismatchFamily
    declared: dict[str, HsCodeSet]
    toy_headings: HsCodeSet
    headings: dict[str, str]
    restricted_destinations: frozenset[str]
    diversion_countries: frozenset[str]
    reference_data_version: str
    version: str = "1"
    category: AlertCategory = AlertCategory.CATEGORY_MISMATCH
    rule_id: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rule_id", f"category_mismatch.{self.family.key}")

    @classmethod
    def build(
        cls, family: MismatchFamily, reference: ReferenceData, restricted: frozenset[str]
    ) -> "CategoryMismatch":
        return cls(
            family=family,
            declared={g: reference.hs_group("hs_groups", g) for g in family.declared_groups},
            toy_headings=(
                reference.hs_group("hs_groups", *family.toy_groups)
                if family.toy_groups
                else HsCodeSet([])
            ),
            headings=reference.hs_descriptions("hs_groups"),
            restricted_destinations=restricted,
            diversion_countries=reference.countries("destinations", "diversion_risk"),
            reference_data_version=reference.version_of(
                family.lexicon, "hs_groups", "destinations", "end_use"
            ),
        )

    def _declared_under(self, hs_code: str) -> tuple[str, str] | None:
        for group, codes in self.declared.items():
            prefix = codes.match(hs_code)
            if prefix is not None:
                return group, prefix
        return None

    def evaluate(self, facts: DeclarationFacts) -> list[Finding]:
        declaration = facts.declaration
        declared = self._declared_under(declaration.hs_code)
        if declared is None:
            return []
        family = self.family
        matches = facts.terms_of(family.lexicon, family.named_groups | family.generic_groups)
        if not matches:
            return []
        group, prefix = declared
        if prefix in self.toy_headings.prefixes and facts.terms_of("end_use", {"toy_context"}):
            return []
        named = [m for m in matches if m.entry.group in family.named_groups]
        restricted = declaration.destination_country in self.restricted_destinations
        # A risky route ends in a restricted or diversion-risk country, or was rerouted through
        # one; a maker shipping from its own country (even China) is not risky by itself.
        via_diversion = declaration.destination_country in self.diversion_countries or (
            declaration.dispatch_country in self.diversion_countries
            and declaration.dispatch_country != declaration.origin_country
        )
        if not named and family.generic_needs_risky_route and not (restricted or via_diversion):
            return []
        if restricted:
            severity = Severity.CRITICAL if named else Severity.HIGH
        else:
            severity = Severity.HIGH if named else Severity.MEDIUM
        lead = (named or matches)[0]
        claims = facts.terms_of("end_use", {"civilian_claim"})
        summary = (
            f"{family.group_labels.get(lead.entry.group, lead.entry.group)} "
            f"({printable(lead.entry.term, 40)}) declared under "
            f"HS {hs_display(declaration.hs_code)} as "
            f"{self.headings.get(prefix, group).lower()}; {family.belongs_in}: "
            f"{shipment_line(declaration)}"
        )
        return [
            declaration_finding(
                declaration,
                severity,
                summary,
                {
                    "family": family.key,
                    "declared_hs_code": declaration.hs_code,
                    "declared_group": group,
                    "declared_prefix": prefix,
                    "declared_description": self.headings.get(prefix, ""),
                    "belongs_in": family.belongs_in,
                    "matched_terms": terms_evidence(matches),
                    "spelling_corrections": spelling_evidence(facts),
                    "civilian_claims": [m.entry.term for m in claims],
                    "destination_country": declaration.destination_country,
                    "restricted_destination": restricted,
                    "dispatch_country": declaration.dispatch_country,
                    "diversion_risk_route": via_diversion,
                    "quantity": declaration.quantity,
                    "quantity_unit": declaration.quantity_unit,
                },
            )
        ]


@dataclass(frozen=True)
class CivilianClaimMilitaryGoods:
    """The text claims a civilian end use for goods it plainly calls military.

    "Civilian hunting rifles, military specification" or "民用 … 军用" in one description is a
    contradiction whatever the heading: somebody wrote the end use to get past screening.
    """

    restricted_destinations: frozenset[str]
    reference_data_version: str
    rule_id: str = "category_mismatch.civilian_claim"
    version: str = "1"
    category: AlertCategory = AlertCategory.CATEGORY_MISMATCH

    @classmethod
    def build(
        cls, reference: ReferenceData, restricted: frozenset[str]
    ) -> "CivilianClaimMilitaryGoods":
        return cls(restricted, reference.version_of("end_use", "destinations"))

    def evaluate(self, facts: DeclarationFacts) -> list[Finding]:
        claims = facts.terms_of("end_use", {"civilian_claim"})
        if not claims:
            return []
        markers = facts.terms_of("end_use", {"military_marker"})
        if not markers:
            return []
        declaration = facts.declaration
        restricted = declaration.destination_country in self.restricted_destinations
        summary = (
            f"Civilian end use claimed ({printable(claims[0].entry.term, 30)}) for goods the text "
            f"calls military ({printable(markers[0].entry.term, 30)}), "
            f"HS {hs_display(declaration.hs_code)}: "
            f"{shipment_line(declaration)}"
        )
        return [
            declaration_finding(
                declaration,
                Severity.CRITICAL if restricted else Severity.HIGH,
                summary,
                {
                    "civilian_claims": terms_evidence(claims),
                    "military_markers": terms_evidence(markers),
                    "spelling_corrections": spelling_evidence(facts),
                    "declared_hs_code": declaration.hs_code,
                    "goods_description": printable(declaration.goods_description, 300),
                    "destination_country": declaration.destination_country,
                    "restricted_destination": restricted,
                },
            )
        ]
