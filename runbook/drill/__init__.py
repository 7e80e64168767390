"""`invoke drill`: provoke failures on the lab under load and measure what clients see.

load_client.py  the asyncio load, run inside the lab client's namespace
load.py         starts it there and reads its per-request records
sampler.py      who holds the VIP, read from the nodes' namespaces at ≥ 20 Hz
scenarios.py    the faults (planned, haproxy-crash, keepalived-crash, node-crash, backend-down,
                planned-stop)
runner.py       one scenario: load, fault, restore, verify, figures
remote.py       a site that is not the lab (--yes): faults and VIP sampling over its SSH
analysis.py     the figures (error windows, takeover, VIP moved): pure functions
report.py       the Spanish table and the JSON document
"""

from .load import LoadSpec
from .scenarios import ALL, SCENARIOS, DrillError

__all__ = ["ALL", "SCENARIOS", "DrillError", "LoadSpec"]
