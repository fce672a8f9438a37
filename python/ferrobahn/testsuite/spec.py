"""``--spec FILE``: the original Autobahn|Testsuite's JSON spec files, as
``wstest -m fuzzingclient -s fuzzingclient.json`` reads them, turned into what the
command line's flags say (an explicit flag wins over the spec).

Keys used:

- ``fuzzingclient``: ``servers`` (a list; each ``url`` and optional ``agent``,
  run one after the other into one report), ``outdir``, ``cases``,
  ``exclude-cases``, ``exclude-agent-cases``;
- ``fuzzingserver``: ``url`` (the host and port to listen on; ``ws://`` only),
  ``outdir``, ``cases``, ``exclude-cases``, ``exclude-agent-cases``.

Every other setting (``options`` such as ``failByDrop`` or ``version``, a server's
``options``, ``origin``, ``protocols`` or ``hostname``, ``webport``, TLS ``key`` and
``cert``, unknown keys) is not implemented here: it is ignored and named in one
warning (``Spec.ignored``).

Patterns as the original reads them: ``cases`` and ``exclude-cases`` as
``--cases``/``--exclude`` (``cases.select``); ``exclude-agent-cases`` maps agent
patterns to lists of case patterns, each matched against the *whole* agent name or
case id, ``*`` standing for any text and everything else literal
(``{"MyServer*": ["6.4.*", "7.1.1"]}``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

COMMANDS = ("fuzzingclient", "fuzzingserver")
#: The keys each command uses (all others are ignored, with a warning).
USED = {
    "fuzzingclient": {"servers", "outdir", "cases", "exclude-cases", "exclude-agent-cases"},
    "fuzzingserver": {"url", "outdir", "cases", "exclude-cases", "exclude-agent-cases"},
}
SERVER_KEYS = {"url", "agent"}


class SpecError(Exception):
    """A spec file that cannot be read or holds a setting of the wrong shape."""


def _whole(pattern: str) -> re.Pattern[str]:
    """``*`` is any text, the rest literal, matched against the whole string."""
    return re.compile(re.escape(pattern).replace(r"\*", ".*") + r"\Z")


class AgentExclusions:
    """``exclude-agent-cases``: called with an agent and a case id, True when the
    case is excluded for that agent. Empty (and false) without patterns."""

    def __init__(self, table: Mapping[str, Sequence[str]] | None = None) -> None:
        self._rules = [
            (_whole(agent), [_whole(case) for case in cases])
            for agent, cases in (table or {}).items()
        ]

    def __call__(self, agent: str, case_id: str) -> bool:
        return any(
            who.match(agent) and any(what.match(case_id) for what in cases)
            for who, cases in self._rules
        )

    def __bool__(self) -> bool:
        return bool(self._rules)


@dataclass
class Server:
    """One server a ``fuzzingclient`` spec lists."""

    url: str
    #: The name in the reports; None: the server's ``Server`` header.
    agent: str | None = None


@dataclass
class Spec:
    servers: list[Server] = field(default_factory=list)
    url: str | None = None
    outdir: Path | None = None
    cases: list[str] | None = None
    exclude: list[str] | None = None
    exclusions: AgentExclusions = field(default_factory=AgentExclusions)
    #: The settings ignored (not implemented), e.g. ``options.failByDrop``.
    ignored: list[str] = field(default_factory=list)


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"{where} must be a list of strings")
    return list(value)


def _ws_url(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise SpecError(f"{where} must be a string (a ws:// URL)")
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises on a port that is not a number
    except ValueError as exc:
        raise SpecError(f"{where}: {value!r} is not a URL ({exc})") from None
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise SpecError(f"{where}: {value!r} is not a ws:// or wss:// URL")
    return value


def _ignored(prefix: str, key: str, value: Any) -> list[str]:
    """The names of an ignored setting: each option of an ``options`` object
    (nothing for an empty one), else the key itself."""
    if key == "options" and isinstance(value, dict):
        return [f"{prefix}options.{name}" for name in value]
    return [prefix + key]


def _server(value: Any, i: int, ignored: list[str]) -> Server:
    where = f"servers[{i}]"
    if not isinstance(value, dict):
        raise SpecError(f"{where} must be an object with a url")
    if "url" not in value:
        raise SpecError(f"{where} has no url")
    agent = value.get("agent")
    if agent is not None and (not isinstance(agent, str) or not agent):
        raise SpecError(f"{where}.agent must be a non-empty string")
    for key, setting in value.items():
        if key not in SERVER_KEYS:
            ignored.extend(_ignored(f"{where}.", key, setting))
    return Server(_ws_url(value["url"], f"{where}.url"), agent)


def parse_spec(data: Any, command: str) -> Spec:
    """The spec object ``data`` (parsed JSON) for ``command``."""
    if command not in COMMANDS:
        raise ValueError(f"command must be one of {COMMANDS}")
    if not isinstance(data, dict):
        raise SpecError("a spec is a JSON object")
    spec = Spec()
    for key, value in data.items():
        if key not in USED[command]:
            spec.ignored.extend(_ignored("", key, value))
    if "servers" in data and command == "fuzzingclient":
        if not isinstance(data["servers"], list):
            raise SpecError("servers must be a list of objects with a url")
        spec.servers = [_server(s, i, spec.ignored) for i, s in enumerate(data["servers"])]
    if "url" in data and command == "fuzzingserver":
        spec.url = _ws_url(data["url"], "url")
        if urlsplit(spec.url).scheme != "ws":
            raise SpecError(f"url: {spec.url!r}: the fuzzing server does not implement TLS")
    if "outdir" in data:
        if not isinstance(data["outdir"], str) or not data["outdir"]:
            raise SpecError("outdir must be a non-empty string")
        spec.outdir = Path(data["outdir"])
    if "cases" in data:
        spec.cases = _strings(data["cases"], "cases")
    if "exclude-cases" in data:
        spec.exclude = _strings(data["exclude-cases"], "exclude-cases")
    table = data.get("exclude-agent-cases", {})
    if not isinstance(table, dict):
        raise SpecError("exclude-agent-cases must map agent patterns to lists of case patterns")
    spec.exclusions = AgentExclusions(
        {
            agent: _strings(cases, f"exclude-agent-cases[{agent!r}]")
            for agent, cases in table.items()
        }
    )
    return spec


def load_spec(path: Path, command: str) -> Spec:
    """Read the spec file at ``path`` for ``command``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"cannot read the spec {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise SpecError(f"the spec {path} is not valid JSON: {exc}") from None
    try:
        return parse_spec(data, command)
    except SpecError as exc:
        raise SpecError(f"the spec {path}: {exc}") from None
