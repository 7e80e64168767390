"""`invoke drill`: provoke failures on the lab under load and measure what clients see.

load_client.py  the asyncio load (HTTP GET or memcached `version`), run inside the lab client's namespace
load.py         starts it there and reads its per-request records
sampler.py      who holds the VIP, read from the nodes' namespaces at ≥ 20 Hz
scenarios.py    the faults (planned, haproxy-crash, keepalived-crash, node-crash, backend-stop,
                backend-down and their -tcp twins, planned-stop)
runner.py       one scenario: load, fault, restore, verify, figures; run_drill: N rounds of them
haproxy_events.py  when HAProxy marked a backend DOWN and UP, from the node's journal
repeats.py      several runs of a scenario as one: median and range of every figure
remote.py       a site that is not the lab (--yes): faults and VIP sampling over its SSH
analysis.py     the figures (error windows, takeover, VIP moved): pure functions
report.py       the Spanish table and the JSON document
"""

from .load import LoadSpec
from .scenarios import ALL, SCENARIOS, DrillError

__all__ = ["ALL", "SCENARIOS", "DrillError", "LoadSpec"]
