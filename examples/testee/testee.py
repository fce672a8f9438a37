"""What the testee clients here (``asyncio_client.py``, ``twisted_client.py``) share:
the options AutobahnPython's testee clients set, and the fuzzing server's resources.
"""

from urllib.parse import quote

#: Above the largest message of the test suite (16 MiB in 9.1.6/9.2.6).
LIMIT = 32 * 2**20
#: Longer than the longest case of the full mode (9.5.x/9.6.x: 1000 s).
CONNECTION_TIMEOUT = 1100.0


def configure(factory, compress):
    """Set the testee options on a client ``factory``: ``failByDrop=False`` so a
    failed connection still gets its close frame, limits above the largest case,
    and permessage-deflate offered (and the server's answer accepted) as
    AutobahnPython's testee does. ``compress`` is the library's
    ``websocket.compress`` module (ferrobahn's or autobahn's)."""

    def accept(response):
        if isinstance(response, compress.PerMessageDeflateResponse):
            return compress.PerMessageDeflateResponseAccept(response)
        return None

    factory.setProtocolOptions(
        failByDrop=False,
        maxMessagePayloadSize=LIMIT,
        maxFramePayloadSize=LIMIT,
        perMessageCompressionOffers=[compress.PerMessageDeflateOffer()],
        perMessageCompressionAccept=accept,
    )


def run_case(case, agent):
    """The resource that runs case number ``case`` (1-based) for ``agent``."""
    return f"/runCase?case={case}&agent={quote(agent, safe='')}"


def update_reports(agent):
    """The resource that makes the fuzzing server write its reports."""
    return f"/updateReports?agent={quote(agent, safe='')}"
