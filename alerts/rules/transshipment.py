"""transshipment: controlled goods routed through a third country to a restricted destination."""

from dataclasses import dataclass

from alerts.reference import ReferenceData
from alerts.rules.base import DeclarationFacts, Finding, declaration_finding, shipment_line
from alerts.rules.controls import ControlMatcher, control_evidence
from schemas.alert import AlertCategory, Severity


@dataclass(frozen=True)
class DiversionRoute:
    """Controlled goods to a restricted destination by way of a third country.

    The route is a diversion route when the goods were made in one country and dispatched from
    another (origin ≠ dispatch), above all from a country named in the 2022-2023 red-flag
    guidance (Turkey, UAE, Armenia, Georgia, Central Asia, Hong Kong, ...); or when a seller
    from elsewhere dispatches from such a country. Direct trade from the maker's own country
    is left to controlled_goods.
    """

    matcher: ControlMatcher
    restricted_destinations: frozenset[str]
    diversion_countries: frozenset[str]
    reference_data_version: str
    rule_id: str = "transshipment.diversion_route"
    version: str = "1"
    category: AlertCategory = AlertCategory.TRANSSHIPMENT

    @classmethod
    def build(
        cls, reference: ReferenceData, restricted: frozenset[str], matcher: ControlMatcher
    ) -> "DiversionRoute":
        return cls(
            matcher,
            restricted,
            reference.countries("destinations", "diversion_risk"),
            reference.version_of(*matcher.reference_files, "destinations"),
        )

    def evaluate(self, facts: DeclarationFacts) -> list[Finding]:
        declaration = facts.declaration
        destination = declaration.destination_country
        dispatch = declaration.dispatch_country
        if destination not in self.restricted_destinations or dispatch == destination:
            return []
        rerouted = declaration.origin_country != dispatch
        hub = dispatch in self.diversion_countries
        seller = declaration.exporter.country
        foreign_seller = seller is not None and seller not in (dispatch, destination)
        if not (rerouted or (hub and foreign_seller)):
            return []
        controls = self.matcher.controls(facts)
        if not controls:
            return []
        strongest = controls[0]
        if rerouted and hub:
            severity = (
                Severity.CRITICAL if strongest.severity is Severity.CRITICAL else Severity.HIGH
            )
        elif rerouted:
            severity = Severity.HIGH if strongest.severity is Severity.CRITICAL else Severity.MEDIUM
        else:
            severity = Severity.MEDIUM
        reasons = []
        if rerouted:
            reasons.append(f"made in {declaration.origin_country}, dispatched from {dispatch}")
        if hub:
            reasons.append(f"{dispatch} is a diversion-risk country")
        if foreign_seller:
            reasons.append(f"seller in {seller}")
        summary = (
            f"{strongest.label()} goods routed via {dispatch} to {destination} "
            f"({'; '.join(reasons)}): {shipment_line(declaration)}"
        )
        return [
            declaration_finding(
                declaration,
                severity,
                summary,
                {
                    "route": {
                        "origin": declaration.origin_country,
                        "dispatch": dispatch,
                        "destination": destination,
                        "exporter_country": seller,
                    },
                    "origin_differs_from_dispatch": rerouted,
                    "dispatch_is_diversion_risk": hub,
                    "seller_outside_dispatch_country": foreign_seller,
                    "controls": control_evidence(controls),
                    "declared_hs_code": declaration.hs_code,
                },
            )
        ]
