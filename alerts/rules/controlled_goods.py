"""controlled_goods: goods on a control list shipped to a restricted destination."""

from dataclasses import dataclass

from alerts.display import printable
from alerts.hs import hs_display
from alerts.reference import ReferenceData
from alerts.rules.base import DeclarationFacts, Finding, declaration_finding, shipment_line
from alerts.rules.controls import ControlMatcher, control_evidence
from schemas.alert import AlertCategory, Severity


@dataclass(frozen=True)
class ControlledGoodsToRestricted:
    """A controlled item bound for a restricted destination. Severity follows the tier."""

    matcher: ControlMatcher
    restricted_destinations: frozenset[str]
    reference_data_version: str
    rule_id: str = "controlled_goods.restricted_destination"
    version: str = "2"
    """2: a name under a heading where its family neither belongs nor hides needs the text to
    bear it out (`controls.ControlMatcher`)."""
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


@dataclass(frozen=True)
class MilitaryGoodsToDiversionHub:
    """Military-List goods bound for a diversion-risk country.

    Body armour to Kazakhstan, rifles to Armenia: legal with a licence, and the route by which
    such goods reached Russia in the 2023 reporting. Dual-use tiers alone do not alert here,
    since the hubs import them every day for ordinary use.
    """

    matcher: ControlMatcher
    diversion_countries: frozenset[str]
    restricted_destinations: frozenset[str]
    reference_data_version: str
    rule_id: str = "controlled_goods.diversion_destination"
    version: str = "2"
    """2: a name under a heading where its family neither belongs nor hides needs the text to
    bear it out (`controls.ControlMatcher`)."""
    category: AlertCategory = AlertCategory.CONTROLLED_GOODS

    @classmethod
    def build(
        cls, reference: ReferenceData, restricted: frozenset[str], matcher: ControlMatcher
    ) -> "MilitaryGoodsToDiversionHub":
        return cls(
            matcher,
            reference.countries("destinations", "diversion_risk"),
            restricted,
            reference.version_of(*matcher.reference_files, "destinations"),
        )

    def evaluate(self, facts: DeclarationFacts) -> list[Finding]:
        declaration = facts.declaration
        destination = declaration.destination_country
        if (
            destination not in self.diversion_countries
            or destination in self.restricted_destinations
        ):
            return []
        # What the text says the goods are: a hunting rifle under 9303 to Turkey is ordinary
        # trade, a text naming AK-103s or plate carriers is not.
        controls = [
            c
            for c in self.matcher.controls(facts)
            if c.control_list in _MILITARY_LISTS and c.identified_by == "description"
        ]
        if not controls:
            return []
        strongest = controls[0]
        summary = (
            f"{strongest.label()} goods to diversion-risk country {destination}: "
            f"{strongest.description} (described as {printable(strongest.evidence, 40)!r}, "
            f"HS {hs_display(declaration.hs_code)}), {shipment_line(declaration)}"
        )
        return [
            declaration_finding(
                declaration,
                Severity.MEDIUM,
                summary,
                {
                    "controls": control_evidence(controls),
                    "declared_hs_code": declaration.hs_code,
                    "destination_country": destination,
                    "exporter": printable(declaration.exporter.name, 120),
                    "importer": printable(declaration.importer.name, 120),
                },
            )
        ]


_MILITARY_LISTS = frozenset({"military"})
