"""The declaration wire contract: one JSON object per Kafka message on the input topic."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from schemas.codes import CountryCode, CurrencyCode, HsCode

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
Unit = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Z0-9]{1,8}$"),
]


def _rfc3339_only(value: object) -> object:
    # pydantic would also take a bare number as seconds since the epoch; the contract says text.
    if not isinstance(value, str | datetime):
        raise ValueError("must be an RFC 3339 timestamp string with an offset")
    return value


EventTime = Annotated[AwareDatetime, BeforeValidator(_rfc3339_only)]


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
    declared_at: EventTime = Field(description="RFC 3339 timestamp with offset; the event time.")
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
    quantity: float = Field(gt=0)
    quantity_unit: Unit = Field(description="Unit of quantity, e.g. PCE, KG, PR, SET.")
    invoice_value: float = Field(ge=0)
    currency: CurrencyCode

    declarant: Party | None = None
    brand: ShortText | None = None
    model: ShortText | None = None
    net_mass_kg: float | None = Field(default=None, ge=0)
    gross_mass_kg: float | None = Field(default=None, ge=0)
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
