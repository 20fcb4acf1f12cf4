"""HS code groups and tables: prefixes at chapter (2 digits), heading (4) and subheading (6+).

HS 2022 moved unmanned aircraft out of 8802 into the new headings 8806 and 8807; groups list
both where a declaration may still use the old code.
"""

from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

Value = TypeVar("Value")


def hs_display(code: str) -> str:
    """An HS code as people write it, in pairs after the heading: one way everywhere.

    >>> hs_display("9303201000"), hs_display("930320"), hs_display("93")
    ('9303.20.10.00', '9303.20', '93')
    """
    if len(code) <= 4 or not code.isdigit():
        return code
    pairs = [code[i : i + 2] for i in range(4, len(code), 2)]
    return ".".join([code[:4], *pairs])


def _check_prefix(prefix: str) -> None:
    if not (prefix.isdigit() and len(prefix) in (2, 4, 6, 8, 10)):
        raise ValueError(f"HS prefix {prefix!r} must be 2, 4, 6, 8 or 10 digits")


class HsPrefixMap(Generic[Value]):
    """Values keyed by HS prefix; a code finds the value of its longest listed prefix.

    >>> tiers = HsPrefixMap({"8542": "chips", "854231": "processors"})
    >>> tiers.lookup("8542310000")
    ('854231', 'processors')
    """

    def __init__(self, by_prefix: Mapping[str, Value]) -> None:
        for prefix in by_prefix:
            _check_prefix(prefix)
        self._by_prefix = dict(by_prefix)
        self._lengths = sorted({len(p) for p in self._by_prefix}, reverse=True)

    def lookup(self, hs_code: str) -> tuple[str, Value] | None:
        """(prefix, value) of the longest prefix of hs_code in the map, or None."""
        for length in self._lengths:
            prefix = hs_code[:length]
            if prefix in self._by_prefix:
                return prefix, self._by_prefix[prefix]
        return None

    @property
    def prefixes(self) -> frozenset[str]:
        return frozenset(self._by_prefix)

    def __len__(self) -> int:
        return len(self._by_prefix)


class HsCodeSet:
    """A set of HS prefixes, matched against normalised codes at every level at once.

    >>> sporting = HsCodeSet(["9303", "930520"])
    >>> sporting.match("9303201000")
    '9303'
    >>> sporting.match("9301100000") is None
    True
    """

    def __init__(self, prefixes: Iterable[str]) -> None:
        self._map: HsPrefixMap[None] = HsPrefixMap(dict.fromkeys(prefixes))
        self.prefixes = self._map.prefixes

    def match(self, hs_code: str) -> str | None:
        """The longest prefix of the set that hs_code falls under, or None."""
        found = self._map.lookup(hs_code)
        return found[0] if found else None

    def __contains__(self, hs_code: object) -> bool:
        return isinstance(hs_code, str) and self.match(hs_code) is not None

    def __or__(self, other: "HsCodeSet") -> "HsCodeSet":
        return HsCodeSet(self.prefixes | other.prefixes)

    def __len__(self) -> int:
        return len(self.prefixes)
