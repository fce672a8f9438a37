"""ferrobahn on Twisted (``pip install ferrobahn[twisted]``).

Importing this package does not install a reactor: the modules import
``twisted.internet.reactor`` only when a factory is built without one.
"""

import twisted

from ferrobahn import __version__
from ferrobahn.twisted.choosereactor import install_reactor
from ferrobahn.twisted.websocket import (
    WebSocketClientFactory,
    WebSocketClientProtocol,
    WebSocketServerFactory,
    WebSocketServerProtocol,
    WrappingWebSocketClientFactory,
    WrappingWebSocketServerFactory,
)

#: Identifies this library and flavour (AutobahnPython's ``__ident__``).
__ident__ = f"ferrobahn/{__version__}-Twisted/{twisted.__version__}"

__all__ = [
    "__ident__",
    "WebSocketClientFactory",
    "WebSocketClientProtocol",
    "WebSocketServerFactory",
    "WebSocketServerProtocol",
    "WrappingWebSocketClientFactory",
    "WrappingWebSocketServerFactory",
    "install_reactor",
]
