"""ferrobahn: AutobahnPython's WebSocket API on a Rust core.

Programs written for ``autobahn.asyncio.websocket`` or
``autobahn.twisted.websocket`` run on ferrobahn once ``autobahn`` is replaced
by ``ferrobahn`` in their imports.
"""

import os
from importlib.metadata import PackageNotFoundError, version

from ferrobahn import _core

try:
    __version__ = version("ferrobahn")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"

# A child process must not replay the parent's buffered mask keys.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_core.discard_mask_keys)

__all__ = ["__version__"]
