"""Lazy package exports (PEP 562): public names imported from their modules on use."""

from __future__ import annotations

import importlib
import sys
from typing import Callable, Dict, List, Tuple


def lazy_exports(package: str, origins: Dict[str, str]
                 ) -> Tuple[Callable[[str], object], Callable[[], List[str]]]:
    """`(__getattr__, __dir__)` for a package whose names live in submodules.

    Args:
        package: The package's `__name__`.
        origins: Public name -> the module that defines it.

    Returns:
        The two module-level functions; a name is imported on first access and then
        kept in the package's namespace.
    """
    def __getattr__(name: str):
        module = origins.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> List[str]:
        return sorted(set(vars(sys.modules[package])) | set(origins))

    return __getattr__, __dir__
