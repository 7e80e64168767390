"""Import invoke without two modules `./rb` does not use: `unittest.mock` and invoke's YAML.

Together they are about half of the time it takes to import invoke, which
every `./rb` pays:

- invoke/context.py starts with `from unittest.mock import Mock`, for one
  class only: `MockContext`, a test helper that wraps `run`/`sudo` in a
  Mock. `./rb` never builds one, yet unittest.mock pulls in asyncio, ssl and
  more.
- invoke/util.py imports its vendored PyYAML (and, through its C loader,
  the installed PyYAML too) for one call: `yaml.safe_load` of an
  `invoke.yaml` configuration file, which a runbook checkout does not have.

`invoke_lean()` imports invoke while stand-ins sit in `sys.modules` for
both, and takes them away right after, so any later import of either is
the real module. What invoke kept of them works on first use:

- `Mock` is `DeferredMock`: calling it (MockContext does) imports the real
  unittest.mock, puts the real `Mock` back into invoke.context and returns a
  real Mock; `isinstance`/`issubclass` against it answer as the real class.
- the YAML module invoke kept forwards every attribute (`safe_load`...) to
  the real vendored module, imported then.

Any other name asked of a stand-in while it is in place loads the real
module too. When invoke (or a module stood in for) is already imported
(pytest, plain `invoke`), nothing is done.
"""

from __future__ import annotations

import importlib
import sys
import types

MOCK = "unittest.mock"
INVOKE_YAML = "invoke.vendor.yaml"


class _StandIn(types.ModuleType):
    """A module in place of a real one: any attribute asked of it loads the real module."""

    def __getattr__(self, name: str):
        if name.startswith("__"):  # import machinery probing (__path__, __spec__...): plain answers
            raise AttributeError(name)
        return getattr(real_module(self.__name__), name)


class _MockStandIn(_StandIn):
    def __getattr__(self, name: str):
        return DeferredMock if name == "Mock" else super().__getattr__(name)


def real_module(name: str) -> types.ModuleType:
    """The real module `name`, imported now if a stand-in was in its place."""
    if isinstance(sys.modules.get(name), _StandIn):
        del sys.modules[name]
    return importlib.import_module(name)


def _real_mock_class() -> type:
    real = real_module(MOCK).Mock
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


def invoke_lean() -> None:
    if any(name in sys.modules for name in ("invoke", MOCK, INVOKE_YAML)):
        return  # invoke was imported without us, or a real module is there already
    stand_ins = {MOCK: _MockStandIn(MOCK, "stand-in while invoke is imported"),
                 INVOKE_YAML: _StandIn(INVOKE_YAML, "stand-in while invoke is imported")}
    sys.modules.update(stand_ins)
    try:
        import invoke  # noqa: F401 - imported here, under the stand-ins
    finally:
        for name, stand_in in stand_ins.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
