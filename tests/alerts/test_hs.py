import pytest

from alerts.hs import HsCodeSet

SET = HsCodeSet(["93", "9303", "930520", "8806"])


@pytest.mark.parametrize(
    ("code", "match"),
    [
        ("930320", "9303"),  # heading beats chapter: the longest prefix wins
        ("9305201000", "930520"),  # subheading
        ("930591", "93"),  # only the chapter
        ("880622", "8806"),  # HS 2022 drone heading
        ("880220", None),  # pre-2022 aircraft heading is not in this set
        ("847130", None),
    ],
)
def test_longest_prefix(code: str, match: str | None) -> None:
    assert SET.match(code) == match
    assert (code in SET) is (match is not None)


@pytest.mark.parametrize("prefix", ["930", "9x03", ""])
def test_bad_prefix(prefix: str) -> None:
    with pytest.raises(ValueError, match="HS prefix"):
        HsCodeSet([prefix])
