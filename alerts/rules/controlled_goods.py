"""controlled_goods: goods on a control list shipped to a restricted destination."""

from dataclasses import dataclass

from alerts.display import printable
from alerts.hs import hs_display
from alerts.reference import ReferenceData
from alerts.rules.base import DeclarationFacts, Finding, declaration_finding, shipment_line
from alerts.rules.controls import ControlMatcher, control_evidence
from schemas.alert import AlertCategory


@dataclass(frozen=True)
class ControlledGoodsToRestricted:
    """A controlled item bound for a restricted destination. Severity follows the tier."""

    matcher: ControlMatcher
    restricted_destinations: frozenset[str]
    reference_data_version: str
    rule_id: str = "controlled_goods.restricted_destination"
    version: str = "1"
    category: AlertCategory = AlertCategory.CONTROLLED_GOODS

    @classmethod
    def build(
        cls, reference: ReferenceData, restricted: frozenset[str], matcher: ControlMatcher
    ) -> "ControlledGoodsToRestricted":
        return cls(
            matcher, restricted, reference.version_of(*matcher.reference_files, "destinations")
        )

    def evaluate(self, facts: DeclarationFacts) -> list[Finding]:
        declaration = facts.declaration
        if declaration.destination_country not in self.restricted_destinations:
            return []
        controls = self.matcher.controls(facts)
        if not controls:
            return []
        strongest = controls[0]
        how = (
            f"declared HS {hs_display(declaration.hs_code)}"
            if strongest.identified_by == "hs_code"
            else f"described as {printable(strongest.evidence, 40)!r}"
        )
        summary = (
            f"{strongest.label()} item to restricted destination "
            f"{declaration.destination_country}: {strongest.description} ({how}), "
            f"{shipment_line(declaration)}"
        )
        return [
            declaration_finding(
                declaration,
                strongest.severity,
                summary,
                {
                    "controls": control_evidence(controls),
                    "declared_hs_code": declaration.hs_code,
                    "destination_country": declaration.destination_country,
                    "exporter": printable(declaration.exporter.name, 120),
                    "importer": printable(declaration.importer.name, 120),
                },
            )
        ]
