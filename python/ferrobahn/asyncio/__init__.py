"""ferrobahn on asyncio."""

from ferrobahn import __version__

#: Identifies this library and flavour (AutobahnPython's ``__ident__``).
__ident__ = f"ferrobahn/{__version__}-asyncio"

__all__ = ["__ident__"]
