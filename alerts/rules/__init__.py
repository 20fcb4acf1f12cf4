"""The rule catalogue. Each rule is a pure function of a declaration and the reference data."""

from alerts.reference import ReferenceData
from alerts.rules.base import Finding, Rule
from alerts.rules.category_mismatch import MilitaryFirearmAsSporting


def default_rules(reference: ReferenceData) -> list[Rule]:
    """Every rule tradewatch runs by default, built over one set of reference data."""
    return [MilitaryFirearmAsSporting.build(reference)]


__all__ = ["Finding", "Rule", "default_rules"]
