"""A case's evidence made readable: the goods text with the words that decided marked, the
listed entries a party matched, and a window series drawn against its baseline.

Pure functions of a case, so that the pages and their tests see the same thing.
"""

import re
import shlex
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from schemas.case import Case, CaseFinding

MIN_PREFIX = 5
"""A decided word is also found by its first letters (a stem: "охотничий" marks "охотничьи")."""


def decided_words(case: Case) -> list[str]:
    """The words of the goods text that findings name as their evidence."""
    words: list[str] = []
    for finding in case.findings:
        evidence = finding.evidence
        words += [str(t.get("term")) for t in evidence.get("matched_terms") or () if t.get("term")]
        words += [str(claim) for claim in evidence.get("civilian_claims") or ()]
        for control in evidence.get("controls") or ():
            if isinstance(control, dict) and control.get("identified_by") == "description":
                words.append(str(control.get("evidence")))
        for correction in evidence.get("spelling_corrections") or ():
            if isinstance(correction, dict) and correction.get("written"):
                words.append(str(correction["written"]))
    return sorted({w for w in words if w.strip()}, key=lambda w: (-len(w), w))


def _spans(text: str, words: list[str]) -> list[tuple[int, int]]:
    folded = text.casefold()
    spans: list[tuple[int, int]] = []
    for word in words:
        needle = word.casefold()
        found = [(m.start(), m.end()) for m in re.finditer(re.escape(needle), folded)]
        if not found and len(needle) > MIN_PREFIX + 1:
            stem = re.escape(needle[: max(MIN_PREFIX, len(needle) - 2)])
            found = [(m.start(), m.end()) for m in re.finditer(rf"\b{stem}\w*", folded)]
        spans += found
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def marked(text: str, words: list[str]) -> Markup:
    """The text, escaped, with every decided word in <mark>."""
    out: list[str] = []
    at = 0
    for start, end in _spans(text, words):
        out += [str(escape(text[at:start])), f"<mark>{escape(text[start:end])}</mark>"]
        at = end
    out.append(str(escape(text[at:])))
    return Markup("".join(out))


@dataclass(frozen=True)
class ListedMatch:
    role: str
    party: str
    entry: str
    entry_id: str
    list_name: str
    list_version: str
    program: str
    score: float
    method: str
    reasons: list[str]
    aligned: list[str]


def listed_matches(case: Case) -> list[ListedMatch]:
    """The listed entries the case's parties matched, each with its list's version."""
    found: list[ListedMatch] = []
    for finding in case.findings:
        versions = dict(
            part.split("@", 1) for part in finding.reference_data_version.split(",") if "@" in part
        )
        for match in finding.evidence.get("matches") or ():
            if not isinstance(match, dict) or match.get("entry_id") is None:
                continue
            found.append(
                ListedMatch(
                    role=str(match.get("role", "")),
                    party=str(match.get("party_name", "")),
                    entry=str(match.get("entry_name", "")),
                    entry_id=str(match.get("entry_id")),
                    list_name=str(match.get("list", "")),
                    list_version=versions.get(str(match.get("list", "")), ""),
                    program=str(match.get("program", "")),
                    score=float(match.get("score", 0.0)),
                    method=str(match.get("method", "")),
                    reasons=[str(r) for r in match.get("reasons") or ()],
                    aligned=[str(a) for a in match.get("aligned") or ()],
                )
            )
    return found


@dataclass(frozen=True)
class Point:
    label: str
    value: float
    expected: float
    threshold: float | None


def series(case: Case) -> tuple[str, list[Point]]:
    """A window case's findings in time order, each its count (or value) beside what was
    expected and the least that alerts: (metric, points); no points for other cases."""
    points: list[Point] = []
    metric = ""
    for finding in sorted(case.findings, key=lambda f: (f.event_time, f.alert_id)):
        lead = _lead_reason(finding)
        if lead is None:
            continue
        metric = metric or str(lead.get("metric", "value"))
        label = finding.window.start.date().isoformat() if finding.window else ""
        threshold = lead.get("least_alerting")
        points.append(
            Point(
                label,
                float(lead["value"]),
                float(lead["expected"]),
                float(threshold) if isinstance(threshold, int | float) else None,
            )
        )
    return metric, points


def _lead_reason(finding: CaseFinding) -> dict[str, Any] | None:
    for reason in finding.evidence.get("reasons") or ():
        if isinstance(reason, dict) and all(
            isinstance(reason.get(k), int | float) for k in ("value", "expected")
        ):
            return reason
    return None


def chart(points: list[Point], width: int = 480, height: int = 140) -> Markup:
    """An SVG of the series: bars for what was seen, a line for what was expected, a dashed line
    for the least that alerts. Labelled for screen readers by its table twin on the page."""
    if not points:
        return Markup("")
    top = max(max(p.value, p.expected, p.threshold or 0.0) for p in points) or 1.0
    pad, base = 24, height - 20
    step = (width - 2 * pad) / len(points)
    bar = max(4.0, step * 0.6)

    def y(value: float) -> float:
        return base - (base - 10) * value / top

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'role="img" aria-label="The series against its baseline; the table below has the '
        'same numbers">'
    ]
    expected, threshold = [], []
    for i, point in enumerate(points):
        x = pad + i * step + (step - bar) / 2
        centre = x + bar / 2
        parts.append(
            f'<rect class="seen" x="{x:.1f}" y="{y(point.value):.1f}" width="{bar:.1f}" '
            f'height="{base - y(point.value):.1f}"><title>{escape(point.label)}: '
            f"{point.value:g} seen, {point.expected:g} expected</title></rect>"
        )
        parts.append(
            f'<text x="{centre:.1f}" y="{height - 6}" text-anchor="middle">'
            f"{escape(point.label[5:])}</text>"
        )
        expected.append(f"{centre:.1f},{y(point.expected):.1f}")
        if point.threshold is not None:
            threshold.append(f"{centre:.1f},{y(point.threshold):.1f}")
    for cls, line in (("expected", expected), ("threshold", threshold)):
        if len(line) == 1:
            middle, level = line[0].split(",")
            line = [f"{float(middle) + side:.1f},{level}" for side in (-bar, bar)]
        if line:
            parts.append(f'<polyline class="{cls}" points="{" ".join(line)}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def cli_equivalent(
    case_id: str, decision: str, reason: str = "WHY", suppress_days: int | None = None
) -> str:
    """The `tradewatch feedback` command that makes the same decision."""
    words = ["tradewatch", "feedback", case_id, f"--{decision}", "--reason", reason]
    if suppress_days is not None:
        words += ["--suppress-days", str(suppress_days)]
    return shlex.join(words)
