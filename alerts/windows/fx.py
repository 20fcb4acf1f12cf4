"""Converting invoice values to one currency (US dollars) with a configurable rate table."""

from dataclasses import dataclass
from pathlib import Path

from alerts.reference import ReferenceData


@dataclass(frozen=True)
class FxRates:
    """US dollars per unit of each currency.

    >>> FxRates({"USD": 1.0, "EUR": 1.08}, "fx_rates@2026-11").to_usd(100, "EUR")
    108.0
    """

    usd_per_unit: dict[str, float]
    label: str

    @classmethod
    def from_reference(cls, reference: ReferenceData, name: str = "fx_rates") -> "FxRates":
        from alerts.reference import FxRateRecord

        loaded = reference.file(name, "fx_rates")
        return cls(
            {r.currency: r.usd_per_unit for r in loaded.records if isinstance(r, FxRateRecord)},
            loaded.label,
        )

    @classmethod
    def from_file(cls, path: Path) -> "FxRates":
        """A rate table from its own file (kind fx_rates), e.g. a treasury's daily rates."""
        from alerts.errors import ReferenceDataError
        from alerts.reference import FxRateRecord, load_file

        loaded = load_file(path)
        if loaded.header.kind != "fx_rates":
            raise ReferenceDataError(path, 1, "expected a rate table (kind 'fx_rates')")
        return cls(
            {r.currency: r.usd_per_unit for r in loaded.records if isinstance(r, FxRateRecord)},
            loaded.label,
        )

    def to_usd(self, amount: float, currency: str) -> float | None:
        """The amount in US dollars, or None for a currency the table lacks."""
        rate = self.usd_per_unit.get(currency)
        return None if rate is None else amount * rate
