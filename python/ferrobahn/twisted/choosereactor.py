"""Installing a Twisted reactor (``autobahn.twisted.choosereactor``).

Twisted installs its default reactor as a side effect of the first
``from twisted.internet import reactor``; these functions must run before
that to choose another one. All reactor imports are inside the functions.
"""

from __future__ import annotations

import sys
from typing import Any

from ferrobahn.util import Logger, make_logger

__all__ = ["current_reactor_klass", "install_optimal_reactor", "install_reactor"]


def _optimal_reactor(platform: str) -> tuple[str, str]:
    """(reactor class name, module whose ``install()`` installs it) for ``platform``."""
    if "bsd" in platform or platform.startswith("darwin"):
        return "KQueueReactor", "twisted.internet.kqreactor"
    if platform == "win32":
        return "IOCPReactor", "twisted.internet.iocpreactor.reactor"
    if platform.startswith("linux"):
        return "EPollReactor", "twisted.internet.epollreactor"
    return "SelectReactor", "twisted.internet.selectreactor"


def current_reactor_klass() -> str | None:
    """The class name of the installed reactor, ``None`` if none is installed."""
    reactor = sys.modules.get("twisted.internet.reactor")
    return None if reactor is None else type(reactor).__name__


def install_optimal_reactor(require_optimal_reactor: bool = True) -> Any:
    """Install the best reactor for this platform (epoll on Linux, kqueue on
    BSD and macOS, IOCP on Windows, else select) unless one is installed.

    If another reactor is already installed: raise
    ``ReactorAlreadyInstalledError`` when ``require_optimal_reactor``, else
    keep it. Returns the reactor in place."""
    import importlib

    from twisted.internet.error import ReactorAlreadyInstalledError

    log = make_logger()
    name, module = _optimal_reactor(sys.platform)
    current = current_reactor_klass()
    if current is None:
        try:
            importlib.import_module(module).install()
        except Exception as error:
            log.warn("cannot install the {name} Twisted reactor: {error!r}", name=name, error=error)
    elif current != name:
        log.warn(
            "cannot install the {name} Twisted reactor: {current} is already installed",
            name=name,
            current=current,
        )
        if require_optimal_reactor:
            raise ReactorAlreadyInstalledError(f"{current} is installed, not {name}")
    from twisted.internet import reactor

    return reactor


def install_reactor(
    explicit_reactor: str | None = None,
    verbose: bool = False,
    log: Logger | None = None,
    require_optimal_reactor: bool = True,
) -> Any:
    """Install the reactor named ``explicit_reactor`` (a short name from
    ``twistd --help-reactors``, e.g. ``"asyncio"``), else the optimal one;
    returns the reactor in place. Unlike AutobahnPython, failing to install
    an explicit reactor raises instead of exiting the process."""
    log = log or make_logger()
    if explicit_reactor:
        from twisted.application.reactors import installReactor

        if verbose:
            log.info("installing the Twisted reactor {reactor}", reactor=explicit_reactor)
        installReactor(explicit_reactor)
    else:
        if verbose:
            log.info("choosing the optimal Twisted reactor")
        install_optimal_reactor(require_optimal_reactor)
    from twisted.internet import reactor

    if verbose:
        log.info("running on the Twisted reactor {klass}", klass=type(reactor).__name__)
    return reactor
