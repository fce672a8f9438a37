"""ferrobahn's conformance tester: the Autobahn|Testsuite's case groups on Python 3.

The Autobahn|Testsuite runs only on Python 2; this package re-expresses its cases
(numbered as the original, so results compare with published reports) as a tool
usable against any WebSocket implementation::

    python -m ferrobahn.testsuite fuzzingclient ws://127.0.0.1:9001 --mode quick
    python -m ferrobahn.testsuite fuzzingserver --port 9001   # then run a testee client

It is pure Python on asyncio streams and shares no code with ferrobahn's protocol
layer or Rust core: a tester must not judge an implementation with that
implementation's own code. Modules, one concern each:

- ``frames``: the tester's own frame codec;
- ``deflate``: its own permessage-deflate (negotiation in both roles, codec on zlib);
- ``corpora``: the generated payloads of groups 12 and 13;
- ``peer``: the tester's end of a connection (timers, closing, wire log);
- ``cases``: the case catalogue as data (one module per group family);
- ``runner``: one connection per case, handshake (both roles), deadlines;
- ``fuzzingserver``: the server mode's URL scheme, for testing clients;
- ``verdict``: behavior and behaviorClose as the original computes them;
- ``report``: ``index.json``, per-case JSON and one HTML page;
- ``spec``: the original's JSON spec files (``--spec``), ``exclude-agent-cases``.
"""

from ferrobahn.testsuite.cases import GROUPS, all_cases, select
from ferrobahn.testsuite.fuzzingserver import FuzzingServer
from ferrobahn.testsuite.runner import CaseResult, run_client_case, run_fuzzing_client

__all__ = [
    "GROUPS",
    "CaseResult",
    "FuzzingServer",
    "all_cases",
    "run_client_case",
    "run_fuzzing_client",
    "select",
]
