"""Validate with pydantic without its plugin scan, which `./rb` pays every time it builds a plan.

The first time a model validates, pydantic looks for plugins: it imports
`pydantic.plugin._loader`, which imports importlib.metadata (and with it
email, zipfile, csv), and reads the `pydantic` entry points of every
installed distribution. That is 35-50 ms of every command that builds a
plan (the first after an edit of the data, the templates or the package),
for plugins runbook neither has nor wants.

pydantic's documented switch, PYDANTIC_DISABLE_PLUGINS, skips the scan but
not the import. `no_plugin_scan()` sets the switch (a value the user set is
kept) and, while it says "no plugins", puts in place of the loader a module
whose `get_plugins()` gives what the real one gives then: no plugins. A
user who wants plugins sets PYDANTIC_DISABLE_PLUGINS to something else (say,
an empty value) and gets the real loader.
"""

from __future__ import annotations

import os
import sys
import types

SWITCH = "PYDANTIC_DISABLE_PLUGINS"
ALL_OFF = ("__all__", "1", "true")  # the values for which pydantic's get_plugins() returns ()
LOADER = "pydantic.plugin._loader"


def _no_plugins() -> tuple:
    return ()


def no_plugin_scan() -> None:
    os.environ.setdefault(SWITCH, "__all__")
    if os.environ[SWITCH] not in ALL_OFF or LOADER in sys.modules:
        return
    stand_in = types.ModuleType(LOADER, "stand-in: PYDANTIC_DISABLE_PLUGINS is set, no plugin is loaded")
    stand_in.get_plugins = _no_plugins
    sys.modules[LOADER] = stand_in
