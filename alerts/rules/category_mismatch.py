"""category_mismatch: what the goods are contradicts the heading they were declared under.

Each family states where its goods are properly classified, and a lexicon of what they are
(whole goods, parts, components and designations, in the languages of the routes):
- military-pattern firearms belong in 9301, their parts in 9305.91, ammunition in 9306; air
  guns and airsoft replicas of them in 9304 when the text says replica, airsoft or BB; toys
  in 9503 when it says toy;
- unmanned aircraft belong in 8806 and their parts in 8807 (HS 2022); toy drones in 9503,
  unless the text names professional features (FPV, thermal imaging, payload, 7-inch frames,
  ranges in km) that no toy has;
- ballistic protection is classified where customs puts it: vests in 6211, panels in 6217,
  helmets in 6506, plates by material (3926, 6909, 6914, 7326, 7616).
Goods declared anywhere else are a mismatch, graded by how implausible the heading is: the
headings known to hide each family (sporting arms, toys, data-processing parts, ordinary
clothing) weigh most, any other heading less. Accessory or depiction wording ("batteries for
drones", "poster of an AK-47") on an ordinary route says the goods are something else.
A separate rule catches text that claims a civilian end use for plainly military goods.
"""

import re
from dataclasses import dataclass, field

from alerts.display import printable
from alerts.hs import HsCodeSet, hs_display
from alerts.reference import ReferenceData
from alerts.rules.base import (
    DeclarationFacts,
    Finding,
    declaration_finding,
    goods_text,
    shipment_line,
    spelling_evidence,
    terms_evidence,
)
from alerts.text import TermMatch, normalize
from schemas.alert import AlertCategory, Severity


@dataclass(frozen=True)
class MismatchFamily:
    """What a family of goods is, where it belongs, and where it is known to hide."""

    key: str
    goods: str  # "firearm", "body armour", ...
    lexicon: str
    named_groups: frozenset[str]
    generic_groups: frozenset[str]
    group_labels: dict[str, str]
    proper_groups: tuple[str, ...]
    """Headings where the family's goods are properly classified: never a mismatch."""
    hiding_groups: tuple[str, ...]
    """Headings known to hide the family: the strongest mismatch."""
    belongs_in: str
    plausible_with: dict[str, str] = field(default_factory=dict)
    """Heading group -> end-use wording that makes it plausible ("toys" -> "toy_context")."""
    professional_groups: frozenset[str] = frozenset()
    """Lexicon groups that no toy has: with them, toy wording does not clear the goods."""
    generic_needs_risky_route: bool = False
    """Generic terms alone alert only to a restricted destination or via a diversion country."""
    numbers: str = ""
    """What the family's goods say in numbers ("calibre", "professional"): see `_NUMBERS`."""


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
        proper_groups=("military_arms", "military_parts", "ammunition"),
        hiding_groups=("sporting_firearms", "air_guns", "toys"),
        belongs_in="military weapons belong in 9301",
        plausible_with={"toys": "toy_context", "air_guns": "replica_context"},
        numbers="calibre",
    ),
    MismatchFamily(
        key="body_armour",
        goods="ballistic protection",
        lexicon="body_armour",
        named_groups=frozenset({"body_armour"}),
        generic_groups=frozenset(),
        group_labels={"body_armour": "Body armour"},
        proper_groups=("ballistic_protection",),
        hiding_groups=("ordinary_clothing",),
        belongs_in=(
            "ballistic protection is Military List item ML13 and needs a licence; vests are "
            "classified in 6211, panels in 6217, helmets in 6506"
        ),
    ),
    MismatchFamily(
        key="uav",
        goods="unmanned aircraft",
        lexicon="uav",
        named_groups=frozenset({"drone"}),
        generic_groups=frozenset({"drone_component"}),
        group_labels={"drone": "Drone", "drone_component": "Drone component"},
        proper_groups=("uav",),
        # 8802/8803 held drones before HS 2022 split them out into 8806 and 8807.
        hiding_groups=("toys", "adp_parts", "generic_electrical", "uav_legacy"),
        belongs_in="since HS 2022 unmanned aircraft belong in 8806 and their parts in 8807",
        plausible_with={"toys": "toy_context"},
        professional_groups=frozenset({"professional_feature", "drone_component"}),
        generic_needs_risky_route=True,
        numbers="professional",
    ),
)

# Professional features written as numbers: frames of 7 inches and up, ranges in kilometres.
_FRAME = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:\"|''|inch|inches|in\b|дюйм\w*|寸|英寸)", re.I)
_RANGE_KM = re.compile(r"\d+(?:[.,]\d+)?\s*(?:km|км|公里|千米)\b", re.I)
_PRO_FRAME_INCHES = 7.0


def numeric_professional_features(text: str) -> list[str]:
    """ "7 inch", "10\"", "дальность 5 км": what the text says in numbers that no toy has."""
    found = [
        m.group(0)
        for m in _FRAME.finditer(text)
        if float(m.group(1).replace(",", ".")) >= _PRO_FRAME_INCHES
    ]
    found += [m.group(0) for m in _RANGE_KM.finditer(text)]
    return found


# A cartridge or calibre written in numbers: "7.62x39", "5,45 мм", "калибр 12", "cal. .308".
# Decimal millimetres count only between 4 and 15, where small-arms calibres are ("2.5 mm" is a
# grain size); whole millimetres never do (a 120 mm mortar and a 120 mm mortar and pestle).
_CALIBRE = re.compile(
    r"(?P<mm>\d{1,2}[.,]\d{1,2})\s*(?:[xх×]\s*\d{2,3}|mm\b|мм|毫米)"
    r"|(?:\bcal(?:ibre|iber)?\b\.?|калибр\w*|口径)\s*\.?\d+(?:[.,]\d+)?",
    re.I,
)
_SMALL_ARMS_MM = (4.0, 15.0)


def calibres(text: str) -> list[str]:
    """ "7.62x39", "5,56 мм", "калибр 12": a cartridge or calibre the text gives in numbers."""
    low, high = _SMALL_ARMS_MM
    return [
        m.group(0)
        for m in _CALIBRE.finditer(text)
        if m.group("mm") is None or low <= float(m.group("mm").replace(",", ".")) <= high
    ]


_NUMBERS = {"calibre": calibres, "professional": numeric_professional_features}


# Words saying the goods are parts of what the name names: "spare parts", "запчасти", "детали",
# "комплектующие", "零件", "配件".
_PARTS = re.compile(
    r"\b(?:spare parts?|parts?|components?)\b|запчаст\w*|запасн\w* част\w*|детал\w*|"
    r"комплектующ\w*|零件|配件|部件",
    re.I,
)


def corroborated_by(
    facts: DeclarationFacts, family: MismatchFamily, name: TermMatch
) -> list[dict[str, str]]:
    """What else in the text says that a name is the family's goods and not an everyday word
    or a brand spelt the same way: another of the family's terms (other words than the name),
    a military marker, words saying the goods are its parts ("Запчасти для АК-74"), or the
    family's numbers (a small-arms calibre, a 7-inch frame).

    Empty when nothing does: "Mortar mix", "ПКМ листы", "Vodka Kalashnikov". A name read from a
    specification (`alerts.specs`: a pattern and a part, a standard and a class) bears itself
    out."""
    found = (
        [{"kind": "specification", "detail": name.matched}] if name.entry.language == "spec" else []
    )
    found += [
        {"kind": "another term", "detail": m.entry.term}
        for m in facts.terms_of(family.lexicon)
        if m.matched not in name.matched and name.matched not in m.matched
    ]
    found += [
        {"kind": "military marker", "detail": m.entry.term}
        for m in facts.terms_of("end_use", {"military_marker"})
    ]
    text = goods_text(facts.declaration)
    if parts := _PARTS.search(text):
        found.append({"kind": "parts", "detail": parts.group(0)})
    numbers = _NUMBERS.get(family.numbers)
    if numbers is not None:
        found += [{"kind": "numbers", "detail": n} for n in numbers(text)]
    return found


FAMILY_OF_LEXICON = {family.lexicon: family for family in FAMILIES}


# Words that make what follows the goods' use, not the goods: "batteries for drones",
# "camera used in unmanned aerial vehicles", "аккумуляторы для дронов"; Chinese puts the
# marker after the noun ("无人机用"). Compared in normalised (stemmed) form.
_USE_BEFORE = re.compile(
    r"(?:^| )(?:for|use in|use with|use on|compat with|fit|для|под|用于|适用于)(?= |$)"
)
_USE_AFTER = re.compile(r"^ ?(?:用|专用)")


def named_for_use(text: str, keys: list[str]) -> bool:
    """Every one of the terms (normalised keys) appears as what the goods are for or used in."""
    for key in keys:
        at = text.find(key)
        if at < 0:
            return False
        before, after = text[:at], text[at + len(key) :]
        if not (_USE_BEFORE.search(before) or _USE_AFTER.match(after)):
            return False
    return bool(keys)


@dataclass(frozen=True)
class CategoryMismatch:
    """Goods named in the text as one family, declared under a heading where they do not belong."""

    family: MismatchFamily
    proper: HsCodeSet
    hiding: dict[str, HsCodeSet]
    headings: dict[str, str]
    restricted_destinations: frozenset[str]
    diversion_countries: frozenset[str]
    reference_data_version: str
    version: str = "3"
    """3: under a heading that is neither the family's nor a known hiding place, a name needs
    the text to bear it out (`corroborated_by`)."""
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
            proper=reference.hs_group("hs_groups", *family.proper_groups),
            hiding={g: reference.hs_group("hs_groups", g) for g in family.hiding_groups},
            headings=reference.hs_descriptions("hs_groups"),
            restricted_destinations=restricted,
            diversion_countries=reference.countries("destinations", "diversion_risk"),
            reference_data_version=reference.version_of(
                family.lexicon, "hs_groups", "destinations", "end_use"
            ),
        )

    def _hiding_under(self, hs_code: str) -> tuple[str, str] | None:
        for group, codes in self.hiding.items():
            prefix = codes.match(hs_code)
            if prefix is not None:
                return group, prefix
        return None

    def _plausible(self, facts: DeclarationFacts, group: str) -> bool:
        """The wording makes the hiding heading plausible: a toy that says so and has no
        professional feature, an airsoft replica that says so."""
        wording = self.family.plausible_with.get(group)
        if wording is None or not facts.terms_of("end_use", {wording}):
            return False
        professional = self.family.professional_groups and (
            facts.terms_of(self.family.lexicon, set(self.family.professional_groups))
            or numeric_professional_features(facts.declaration.goods_description)
        )
        return not professional

    def evaluate(self, facts: DeclarationFacts) -> list[Finding]:
        declaration = facts.declaration
        if self.proper.match(declaration.hs_code) is not None:
            return []
        family = self.family
        matches = facts.terms_of(family.lexicon, family.named_groups | family.generic_groups)
        if not matches:
            return []
        named = [m for m in matches if m.entry.group in family.named_groups]
        restricted = declaration.destination_country in self.restricted_destinations
        # A risky route ends in a restricted or diversion-risk country, or was rerouted through
        # one; a maker shipping from its own country (even China) is not risky by itself.
        via_diversion = declaration.destination_country in self.diversion_countries or (
            declaration.dispatch_country in self.diversion_countries
            and declaration.dispatch_country != declaration.origin_country
        )
        risky = restricted or via_diversion
        components = [m for m in matches if m.entry.group not in family.named_groups]
        # Goods that are something else for the family's goods ("batteries for drones"): on an
        # ordinary route, and with no component of the family named, they are what they say.
        if (
            not risky
            and not components
            and (
                facts.terms_of("end_use", {"accessory_context"})
                or named_for_use(normalize(goods_text(declaration)), [m.matched for m in named])
            )
        ):
            return []
        hiding = self._hiding_under(declaration.hs_code)
        if hiding is not None:
            group, prefix = hiding
            if self._plausible(facts, group):
                return []
            if not named and family.generic_needs_risky_route and not risky:
                return []
            if restricted:
                severity = Severity.CRITICAL if named else Severity.HIGH
            else:
                severity = Severity.HIGH if named else Severity.MEDIUM
            declared_as = self.headings.get(prefix, group).lower()
            corroboration = [{"kind": "declared heading", "detail": group}]
        else:
            # Any other heading: less plausible as a hiding place, so named goods only, and
            # not where the text says the goods are a depiction of them ("poster of an AK-47").
            if not named or facts.terms_of("end_use", {"depiction_context"}):
                return []
            # A name that is also an everyday word (mortar for building, ПКМ for polymer
            # composites, a vodka brand, the drones of a hive) needs the text to bear it out.
            corroboration = corroborated_by(facts, family, named[0])
            if not corroboration:
                return []
            group, prefix = "elsewhere", declaration.hs_code[:4]
            severity = Severity.HIGH if restricted else Severity.MEDIUM
            declared_as = f"heading {prefix}, not where {family.goods} belongs"
        lead = (named or matches)[0]
        claims = facts.terms_of("end_use", {"civilian_claim"})
        summary = (
            f"{family.group_labels.get(lead.entry.group, lead.entry.group)} "
            f"({printable(lead.entry.term, 40)}) declared under "
            f"HS {hs_display(declaration.hs_code)} as {declared_as}; {family.belongs_in}: "
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
                    "corroborated_by": corroboration,
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
