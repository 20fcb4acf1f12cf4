"""HS code groups: sets of chapters (2 digits), headings (4) and subheadings (6 or more).

HS 2022 moved unmanned aircraft out of 8802 into the new headings 8806 and 8807; groups list
both where a declaration may still use the old code.
"""

from collections.abc import Iterable


class HsCodeSet:
    """A set of HS prefixes, matched against normalised codes at every level at once.

    >>> sporting = HsCodeSet(["9303", "930520"])
    >>> sporting.match("9303201000")
    '9303'
    >>> sporting.match("9301100000") is None
    True
    """

    def __init__(self, prefixes: Iterable[str]) -> None:
        self.prefixes = frozenset(prefixes)
        for prefix in self.prefixes:
            if not (prefix.isdigit() and len(prefix) in (2, 4, 6, 8, 10)):
                raise ValueError(f"HS prefix {prefix!r} must be 2, 4, 6, 8 or 10 digits")
        self._lengths = sorted({len(p) for p in self.prefixes}, reverse=True)

    def match(self, hs_code: str) -> str | None:
        """The longest prefix of the set that hs_code falls under, or None."""
        for length in self._lengths:
            if hs_code[:length] in self.prefixes:
                return hs_code[:length]
        return None

    def __contains__(self, hs_code: object) -> bool:
        return isinstance(hs_code, str) and self.match(hs_code) is not None

    def __len__(self) -> int:
        return len(self.prefixes)
