"""Which controls a declaration's goods fall under: by HS code, or by what the text says.

A code on a control list (the Common High Priority List tiers, chapter 93, 8710, 8806/8807) is
one way in. The other is the description: body armour declared as clothing is still body
armour, and a drone declared as a toy is still a drone.
"""

from dataclasses import dataclass

from alerts.hs import HsCodeSet, HsPrefixMap
from alerts.reference import ControlListRecord, ReferenceData
from alerts.rules.base import DeclarationFacts
from alerts.rules.category_mismatch import FAMILY_OF_LEXICON, corroborated_by
from schemas.alert import Severity


@dataclass(frozen=True, slots=True)
class Control:
    """One reason the goods are controlled."""

    control_list: str
    tier: str
    severity: Severity
    description: str
    identified_by: str  # "hs_code" or "description"
    evidence: str  # the listed prefix, or the matched term
    corroborated_by: tuple[str, ...] = ()
    """For a name under a heading where its family neither belongs nor is known to hide:
    what else in the text bore it out (`category_mismatch.corroborated_by`)."""

    def label(self) -> str:
        names = {"chpl": "CHPL tier", "military": "Military List", "uav": "UAV control"}
        name = names.get(self.control_list, self.control_list)
        return f"{name} {self.tier}" if self.control_list == "chpl" else name


@dataclass(frozen=True, slots=True)
class DescriptionControl:
    lexicon: str
    groups: frozenset[str]
    control_list: str
    tier: str
    severity: Severity
    description: str


# Goods recognised by their description, whatever heading they were declared under.
DESCRIPTION_CONTROLS: tuple[DescriptionControl, ...] = (
    DescriptionControl(
        "military_firearms",
        frozenset({"kalashnikov", "ar_m16", "cq_qbz", "other_military"}),
        "military",
        "ML1",
        Severity.CRITICAL,
        "Military small arms and light weapons (Military List ML1/ML2)",
    ),
    DescriptionControl(
        "body_armour",
        frozenset({"body_armour"}),
        "military",
        "ML13",
        Severity.CRITICAL,
        "Ballistic protection: body armour, plates, helmets (Military List ML13)",
    ),
    DescriptionControl(
        "uav", frozenset({"drone"}), "uav", "UAV", Severity.CRITICAL, "Unmanned aircraft"
    ),
    DescriptionControl(
        "uav",
        frozenset({"drone_component"}),
        "uav",
        "UAV",
        Severity.HIGH,
        "Components of unmanned aircraft",
    ),
)


class ControlMatcher:
    """The controls that apply to a declaration, strongest first."""

    def __init__(self, reference: ReferenceData) -> None:
        self.by_code: HsPrefixMap[ControlListRecord] = HsPrefixMap(
            {r.prefix: r for r in reference.control_list("control_lists")}
        )
        # Replicas and toys of military designs, declared as such where they belong.
        self.imitations = reference.hs_group("hs_groups", "air_guns", "toys")
        # Where each family belongs or is known to hide: anywhere else, a name needs the text
        # to bear it out before it is taken for the goods.
        self.expected: dict[str, HsCodeSet] = {
            lexicon: reference.hs_group("hs_groups", *family.proper_groups, *family.hiding_groups)
            for lexicon, family in FAMILY_OF_LEXICON.items()
        }
        self.reference_files = (
            "control_lists",
            "end_use",
            "hs_groups",
            *{c.lexicon for c in DESCRIPTION_CONTROLS},
        )

    def _names_the_goods(self, facts: DeclarationFacts, control: DescriptionControl) -> bool:
        """The terms name the goods themselves: not a poster or a sticker of them, and not an
        airsoft replica or a toy of a military design declared where such imitations go."""
        if facts.terms_of("end_use", {"depiction_context"}):
            return False
        if control.lexicon == "military_firearms" and self.imitations.match(
            facts.declaration.hs_code
        ):
            return not facts.terms_of("end_use", {"replica_context", "toy_context"})
        return True

    def controls(self, facts: DeclarationFacts) -> list[Control]:
        found: list[Control] = []
        listed = self.by_code.lookup(facts.declaration.hs_code)
        if listed is not None:
            prefix, record = listed
            found.append(
                Control(
                    record.list,
                    record.tier,
                    Severity(record.severity),
                    record.description,
                    "hs_code",
                    prefix,
                )
            )
        for control in DESCRIPTION_CONTROLS:
            terms = facts.terms_of(control.lexicon, control.groups)
            if not terms or not self._names_the_goods(facts, control):
                continue
            corroboration: tuple[str, ...] = ()
            expected = self.expected.get(control.lexicon)
            if expected is not None and facts.declaration.hs_code not in expected:
                family = FAMILY_OF_LEXICON[control.lexicon]
                corroboration = tuple(
                    f"{c['kind']}: {c['detail']}" for c in corroborated_by(facts, family, terms[0])
                )
                if not corroboration:
                    continue
            found.append(
                Control(
                    control.control_list,
                    control.tier,
                    control.severity,
                    control.description,
                    "description",
                    terms[0].entry.term,
                    corroboration,
                )
            )
        return sorted(found, key=lambda c: -c.severity.rank)


def control_evidence(controls: list[Control]) -> list[dict[str, object]]:
    return [
        {
            "list": c.control_list,
            "tier": c.tier,
            "severity": c.severity.value,
            "description": c.description,
            "identified_by": c.identified_by,
            "evidence": c.evidence,
        }
        | ({"corroborated_by": list(c.corroborated_by)} if c.corroborated_by else {})
        for c in controls
    ]
