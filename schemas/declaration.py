"""The declaration wire contract: one JSON object per Kafka message on the input topic."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.codes import (
    Amount,
    CountryCode,
    CurrencyCode,
    EventTime,
    HsCode,
    PositiveAmount,
    ShortText,
    Text,
    Unit,
)


class Party(BaseModel):
    """An exporter, importer or declarant as the declaration names it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: ShortText
    country: CountryCode | None = None
    tax_id: ShortText | None = None
    address: Text | None = None


class Declaration(BaseModel):
    """A customs declaration, validated from the wire.

    >>> Declaration.model_validate_json(raw_bytes)  # raises pydantic.ValidationError when invalid
    """

    model_config = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)

    declaration_id: ShortText
    declared_at: EventTime
    direction: Literal["import", "export"]
    reporting_country: CountryCode = Field(
        description="The customs administration that registered the declaration."
    )
    exporter: Party
    importer: Party
    origin_country: CountryCode
    dispatch_country: CountryCode = Field(description="Where the goods were shipped from.")
    destination_country: CountryCode
    hs_code: HsCode = Field(
        description="6 to 10 digits; dots and spaces as written on forms are accepted and removed."
    )
    goods_description: Text
    quantity: PositiveAmount
    quantity_unit: Unit
    invoice_value: Amount
    currency: CurrencyCode

    declarant: Party | None = None
    brand: ShortText | None = None
    model: ShortText | None = None
    net_mass_kg: Amount | None = None
    gross_mass_kg: Amount | None = None
    customs_procedure: ShortText | None = None
    transport_mode: ShortText | None = None
    source: ShortText | None = None

    @property
    def hs_chapter(self) -> str:
        return self.hs_code[:2]

    @property
    def hs_heading(self) -> str:
        return self.hs_code[:4]

    @property
    def hs_subheading(self) -> str:
        return self.hs_code[:6]
