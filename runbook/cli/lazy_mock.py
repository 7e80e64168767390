"""Import invoke without paying for `unittest.mock` (about 0.1 s of every `./rb`).

invoke/context.py starts with `from unittest.mock import Mock`, for one
class only: `MockContext`, a test helper that wraps `run`/`sudo` in a Mock.
`./rb` never builds one, yet unittest.mock pulls in asyncio, ssl and more,
which cost a third of `./rb --list`.

`invoke_without_mock()` imports invoke while a stand-in sits in
`sys.modules["unittest.mock"]`, and takes the stand-in away right after, so
any later `import unittest.mock` is the real module. The one name invoke
took from it, `Mock`, is `DeferredMock`: calling it (MockContext does)
imports the real unittest.mock, puts the real `Mock` back into
invoke.context and returns a real Mock; `isinstance`/`issubclass` against
it answer as the real class would. Any other name asked of the stand-in
while it is in place loads the real module too. When unittest.mock or
invoke is already imported (pytest, plain `invoke`), nothing is done.
"""

from __future__ import annotations

import importlib
import sys
import types

MOCK = "unittest.mock"


def real_mock_module() -> types.ModuleType:
    """The real unittest.mock, imported now if the stand-in was in its place."""
    if isinstance(sys.modules.get(MOCK), _StandIn):
        del sys.modules[MOCK]
    return importlib.import_module(MOCK)


def _real_mock_class() -> type:
    real = real_mock_module().Mock
    context = sys.modules.get("invoke.context")
    if context is not None and getattr(context, "Mock", None) is DeferredMock:
        context.Mock = real  # from now on invoke uses the real class directly
    return real


class _DeferredMockType(type):
    def __instancecheck__(cls, instance) -> bool:
        return isinstance(instance, _real_mock_class())

    def __subclasscheck__(cls, subclass) -> bool:
        return issubclass(subclass, _real_mock_class())


class DeferredMock(metaclass=_DeferredMockType):
    """What invoke.context sees as `Mock` until the real one is needed."""

    def __new__(cls, *args, **kwargs):
        return _real_mock_class()(*args, **kwargs)


class _StandIn(types.ModuleType):
    """`unittest.mock` while invoke is imported: `Mock` is deferred, anything else loads the real module."""

    def __getattr__(self, name: str):
        if name == "Mock":
            return DeferredMock
        if name.startswith("__"):  # import machinery probing (__path__, __spec__...): plain answers
            raise AttributeError(name)
        return getattr(real_mock_module(), name)


def invoke_without_mock() -> None:
    if MOCK in sys.modules or "invoke.context" in sys.modules:
        return  # the real module is there already, or invoke was imported without us
    sys.modules[MOCK] = _StandIn(MOCK, "stand-in for unittest.mock while invoke is imported")
    try:
        import invoke  # noqa: F401 - imported here, under the stand-in
    finally:
        if isinstance(sys.modules.get(MOCK), _StandIn):
            del sys.modules[MOCK]
