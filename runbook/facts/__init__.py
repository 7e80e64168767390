"""Facts about a node, in the manner of pyinfra's facts.

A fact is a small typed object: a key, the shell command that asks the node
(every value in it shlex-quoted) and a parser that turns the command's
output into a typed value. `runner.gather` sends any set of facts to a node
in one round trip; deploy, verify, `lab.status` and the failover drill all
read the node through these objects, so each question is defined once.
"""

from .base import Fact, FactCommandError, FactError, Probe, read
from .runner import gather

__all__ = ["FactCommandError", "Fact", "FactError", "Probe", "gather", "read"]
