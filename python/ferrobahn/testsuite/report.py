"""Reports: ``index.json`` in the original's shape (agent -> case -> behavior,
behaviorClose, remoteCloseCode, duration, reportfile), one JSON file per case with
everything observed (its wire log included), and one self-contained HTML page:
a table per group, each case a ``<details>`` element that opens on its wire log.
No scripts, no external assets, so the page works from a CI artifact.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ferrobahn.testsuite.cases import GROUPS
from ferrobahn.testsuite.peer import OPCODE_NAMES
from ferrobahn.testsuite.runner import CaseResult
from ferrobahn.testsuite.verdict import (
    FAILED,
    INFORMATIONAL,
    NON_STRICT,
    OK,
    UNIMPLEMENTED,
    Event,
)

VERDICTS = (OK, NON_STRICT, INFORMATIONAL, UNIMPLEMENTED, FAILED)


def _event_json(event: Event) -> list[Any]:
    """An event for JSON: payloads as text when printable UTF-8, else hex."""
    out: list[Any] = []
    for item in event:
        if isinstance(item, bytes):
            shown = item[:256]
            try:
                out.append(shown.decode("utf-8") + ("..." if len(item) > 256 else ""))
            except UnicodeDecodeError:
                out.append("0x" + shown.hex() + ("..." if len(item) > 256 else ""))
            if len(item) > 256:
                out.append(f"({len(item)} bytes)")
        else:
            out.append(item)
    return out


def report_file(agent: str, case_id: str) -> str:
    clean = re.sub(r"[^a-z0-9]+", "_", agent.lower()).strip("_") or "agent"
    return f"{clean}_case_{case_id.replace('.', '_')}.json"


def case_record(r: CaseResult) -> dict[str, Any]:
    """The per-case JSON document."""
    c = r.case
    return {
        "id": c.id,
        "agent": r.agent,
        "description": c.description,
        "expectation": c.expectation,
        "steps": [step.text for step in c.steps],
        "started": r.started,
        "duration": r.duration_ms,
        "behavior": r.verdict.behavior,
        "behaviorClose": r.verdict.behavior_close,
        "result": r.verdict.result,
        "resultClose": r.verdict.result_close,
        "note": r.note,
        "expected": None
        if c.expected is None
        else {k: [_event_json(e) for e in v] for k, v in c.expected.items()},
        "expectedClose": {
            "closedByMe": c.close.closed_by_me,
            "closeCode": list(c.close.codes),
            "requireClean": c.close.require_clean,
        },
        "received": [_event_json(e) for e in r.seen.received[:50]],
        "receivedCount": r.received_count,
        "isServer": r.seen.is_server,
        "closedByMe": r.seen.closed_by_me,
        "droppedByMe": r.seen.dropped_by_me,
        "wasClean": r.seen.was_clean,
        "wasNotCleanReason": r.was_not_clean_reason,
        "localCloseCode": r.local_close_code,
        "remoteCloseCode": r.seen.remote_close_code,
        "remoteCloseReason": r.remote_close_reason,
        "httpRequest": r.http_request,
        "httpResponse": r.http_response,
        "wirelog": r.wirelog,
    }


def write_reports(results: Sequence[CaseResult], outdir: Path, mode: str) -> Path:
    """Write index.json, the per-case JSON files and index.html; returns the
    HTML page's path. ``results`` may hold several agents. index.json is shaped
    as the original's (``{agent: {case id: {...}}}``); an existing one is merged:
    the agents of ``results`` replace their earlier entries, other agents are kept."""
    outdir.mkdir(parents=True, exist_ok=True)
    index_path = outdir / "index.json"
    index: dict[str, dict[str, Any]] = {}
    if index_path.exists():
        try:
            index = json.loads(index_path.read_text())
        except ValueError:
            index = {}
        if not isinstance(index, dict):
            index = {}
    for agent in {r.agent for r in results}:
        index[agent] = {}
    for r in results:
        name = report_file(r.agent, r.case.id)
        (outdir / name).write_text(json.dumps(case_record(r), indent=1))
        index.setdefault(r.agent, {})[r.case.id] = {
            "behavior": r.verdict.behavior,
            "behaviorClose": r.verdict.behavior_close,
            "remoteCloseCode": r.seen.remote_close_code,
            "duration": r.duration_ms,
            "reportfile": name,
        }
    index_path.write_text(json.dumps(index, indent=1, sort_keys=True))
    page = outdir / "index.html"
    page.write_text(render_html(results, mode))
    return page


def counts_by_group(results: Iterable[CaseResult]) -> dict[int, Counter[str]]:
    """Behavior counts per group (a case whose close failed counts as FAILED)."""
    counts: dict[int, Counter[str]] = {}
    for r in results:
        key = r.verdict.behavior
        if r.verdict.behavior_close not in (OK, INFORMATIONAL) and key == OK:
            key = f"OK/{r.verdict.behavior_close}"
        counts.setdefault(r.case.group, Counter())[key] += 1
    return counts


def summary_lines(results: Sequence[CaseResult]) -> list[str]:
    lines = []
    for group, counter in sorted(counts_by_group(results).items()):
        parts = ", ".join(f"{n} {name}" for name, n in sorted(counter.items()))
        lines.append(f"  {group:>2} {GROUPS.get(group, '')}: {parts}")
    return lines


# ---------------------------------------------------------------------- HTML

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; width: 100%; margin-bottom: 2em; }
td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eee; }
.OK { background: #9f9; } .NON-STRICT { background: #ff9; } .INFORMATIONAL { background: #9cf; }
.FAILED, .UNCLEAN, .WRONG-CODE { background: #f99; } .FAILED-BY-CLIENT { background: #fc9; }
.UNIMPLEMENTED { background: #ccc; }
details summary { cursor: pointer; }
pre { margin: 0; font-size: 12px; white-space: pre-wrap; word-break: break-all; }
.tx { color: #036; } .rx { color: #630; } .ev { color: #555; }
"""


def _css_class(verdict: str) -> str:
    return verdict.replace(" ", "-")


def _wire_line(entry: dict[str, Any]) -> tuple[str, str]:
    """One wire log entry as (css class, text)."""
    kind = entry["kind"]
    t = f"{entry['t']:>10.3f} ms  "
    if kind in ("TF", "RF"):
        name = OPCODE_NAMES.get(entry["opcode"], f"opcode {entry['opcode']}")
        arrow = "TX FRAME" if kind == "TF" else "RX FRAME"
        text = (
            f"{arrow} {name} fin={int(entry['fin'])} rsv={entry['rsv']} "
            f"masked={int(entry['masked'])} len={entry['len']} {entry.get('hex', '')}"
        )
        return ("tx" if kind == "TF" else "rx"), t + text
    if kind in ("TO", "RO"):
        arrow = "TX OCTETS" if kind == "TO" else "RX OCTETS"
        return ("tx" if kind == "TO" else "rx"), t + f"{arrow} ({entry['len']}) {entry['hex']}"
    rest = " ".join(f"{k}={v}" for k, v in entry.items() if k not in ("t", "kind"))
    labels = {
        "CT": "PAUSE",
        "CTE": "PAUSE END",
        "KL": "FAIL CONNECTION AFTER",
        "KLE": "FAILING CONNECTION",
        "TI": "CLOSE AFTER",
        "TIE": "CLOSING",
        "DROP": "TCP DROPPED BY ME",
        "FAIL": "TESTER FAILS CONNECTION",
        "LOST": "TCP CONNECTION GONE",
    }
    return "ev", t + f"{labels.get(kind, kind)} {rest}".rstrip()


def _case_row(r: CaseResult) -> str:
    v = r.verdict
    e = html.escape
    wire = "\n".join(
        f'<pre class="{cls}">{e(text)}</pre>' for cls, text in map(_wire_line, r.wirelog)
    )
    received = e(json.dumps([_event_json(x) for x in r.seen.received[:20]]))
    expected = (
        "judged by the case (see result)"
        if r.case.expected is None
        else e(json.dumps({k: [_event_json(x) for x in ev] for k, ev in r.case.expected.items()}))
    )
    details = (
        f"<details><summary>{e(r.case.id)}</summary>"
        f"<p><b>{e(r.case.description)}</b><br>{e(r.case.expectation)}</p>"
        f"<p>Result: {e(v.result)}<br>Close: {e(v.result_close)}"
        f"{'<br>Note: ' + e(r.note) if r.note else ''}</p>"
        f"<p>Expected: <code>{expected}</code><br>Received: <code>{received}</code></p>"
        f"<p>closedByMe={r.seen.closed_by_me} droppedByMe={r.seen.dropped_by_me} "
        f"wasClean={r.seen.was_clean} ({e(str(r.was_not_clean_reason or ''))}) "
        f"remoteCloseCode={r.seen.remote_close_code} "
        f"remoteCloseReason={e(repr(r.remote_close_reason))}</p>"
        f"<pre>{e(r.http_request.strip())}</pre><pre>{e(r.http_response.strip())}</pre>"
        f"<p><b>Wire log</b></p>{wire}</details>"
    )
    return (
        f"<tr><td>{details}</td>"
        f'<td class="{_css_class(v.behavior)}">{e(v.behavior)}</td>'
        f'<td class="{_css_class(v.behavior_close)}">{e(v.behavior_close)}'
        f" ({r.seen.remote_close_code})</td><td>{r.duration_ms} ms</td></tr>"
    )


def render_html(results: Sequence[CaseResult], mode: str) -> str:
    agents = sorted({r.agent for r in results})
    total = Counter(r.verdict.behavior for r in results)
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>ferrobahn conformance report: {html.escape(', '.join(agents))}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Conformance report: {html.escape(', '.join(agents))}</h1>",
        f"<p>{len(results)} cases, mode {html.escape(mode)}: "
        + ", ".join(f"{total[v]} {v}" for v in VERDICTS if total[v])
        + ". Click a case for its wire log.</p>",
    ]
    for agent in agents:
        own = [r for r in results if r.agent == agent]
        # With several agents, one section each, headed by the agent's name.
        prefix = f"{html.escape(agent)}: " if len(agents) > 1 else ""
        if len(agents) > 1:
            counts = Counter(r.verdict.behavior for r in own)
            parts.append(
                f"<h2>{html.escape(agent)}</h2><p>{len(own)} cases: "
                + ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v])
                + ".</p>"
            )
        groups: dict[int, list[CaseResult]] = {}
        for r in sorted(own, key=lambda r: r.case.key()):
            groups.setdefault(r.case.group, []).append(r)
        for group, rows in sorted(groups.items()):
            parts.append(f"<h2>{prefix}{group} {html.escape(GROUPS.get(group, ''))}</h2>")
            parts.append(
                "<table><tr><th>Case</th><th>Behavior</th><th>Close (peer code)</th>"
                "<th>Duration</th></tr>"
            )
            parts.extend(_case_row(r) for r in rows)
            parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)
