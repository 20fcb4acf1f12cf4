"""category_mismatch: what the goods are contradicts the heading they were declared under."""

from dataclasses import dataclass

from alerts.display import printable
from alerts.hs import HsCodeSet
from alerts.reference import ReferenceData
from alerts.rules.base import Finding, declaration_subject
from alerts.text import Lexicon
from schemas.alert import AlertCategory, Severity
from schemas.declaration import Declaration

_FAMILY_LABELS = {
    "kalashnikov": "Kalashnikov-pattern",
    "ar_m16": "AR/M16-pattern",
    "cq_qbz": "Chinese QBZ/CQ-family",
    "other_military": "standard-issue military",
    "generic_military": "military-function",
}


def goods_text(declaration: Declaration) -> str:
    """Description, brand and model: everything that says what the goods are."""
    parts = [declaration.goods_description, declaration.brand, declaration.model]
    return " | ".join(p for p in parts if p)


@dataclass(frozen=True)
class MilitaryFirearmAsSporting:
    """A military-pattern firearm declared under a sporting or hunting firearms heading.

    The motivating case: Norinco CQ-A rifles, an M16-pattern service rifle, declared under HS 9303
    as civilian hunting rifles, when military weapons belong in heading 9301.
    """

    lexicon: Lexicon
    sporting: HsCodeSet
    headings: dict[str, str]
    restricted_destinations: frozenset[str]
    reference_data_version: str
    rule_id: str = "category_mismatch.military_firearm_as_sporting"
    version: str = "1"
    category: AlertCategory = AlertCategory.CATEGORY_MISMATCH
    expected_heading: str = "9301"

    @classmethod
    def build(cls, reference: ReferenceData) -> "MilitaryFirearmAsSporting":
        return cls(
            lexicon=reference.lexicon("military_firearms"),
            sporting=reference.hs_group("hs_groups", "sporting_firearms"),
            headings=reference.hs_descriptions("hs_groups"),
            restricted_destinations=reference.countries("destinations", "restricted_destinations"),
            reference_data_version=reference.version_of(
                "military_firearms", "hs_groups", "destinations"
            ),
        )

    def evaluate(self, declaration: Declaration) -> list[Finding]:
        declared_group = self.sporting.match(declaration.hs_code)
        if declared_group is None:
            return []
        matches = self.lexicon.find(goods_text(declaration))
        if not matches:
            return []
        families = list(dict.fromkeys(m.entry.group for m in matches))
        # A named military model is stronger evidence than a generic word such as "автомат".
        named = [f for f in families if f != "generic_military"]
        restricted = declaration.destination_country in self.restricted_destinations
        severity = Severity.CRITICAL if restricted else Severity.HIGH if named else Severity.MEDIUM
        lead = named[0] if named else families[0]
        first_term = next(m.entry.term for m in matches if m.entry.group == lead)
        summary = (
            f"{_FAMILY_LABELS.get(lead, lead)} firearm ({printable(first_term, 40)}) "
            "declared under "
            f"HS {declaration.hs_code} as sporting/hunting arms; military weapons belong in "
            f"{self.expected_heading}: {declaration.quantity:g} {declaration.quantity_unit} "
            f"{declaration.origin_country}→{declaration.destination_country}, "
            f"importer {printable(declaration.importer.name, 60)}"
        )
        return [
            Finding(
                severity=severity,
                summary=summary,
                subject=declaration_subject(declaration),
                declaration_ids=(declaration.declaration_id,),
                evidence={
                    "declared_hs_code": declaration.hs_code,
                    "declared_group": declared_group,
                    "declared_group_description": self.headings.get(declared_group, ""),
                    "expected_heading": self.expected_heading,
                    "expected_heading_description": self.headings.get(self.expected_heading, ""),
                    "matched_terms": [
                        {
                            "family": m.entry.group,
                            "term": m.entry.term,
                            "language": m.entry.language,
                        }
                        for m in matches
                    ],
                    "destination_country": declaration.destination_country,
                    "restricted_destination": restricted,
                    "quantity": declaration.quantity,
                    "quantity_unit": declaration.quantity_unit,
                },
            )
        ]
