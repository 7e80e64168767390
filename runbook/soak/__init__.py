"""`./rb soak`: faults in a row on the lab, each repaired as a sysadmin would, judged by fixed rules.

faults.py   what a round may break: the drill's scenarios (imported) and the tampering catalogue
picking.py  which fault each round gets, from a seed (pure)
rules.py    what every round must keep, judged on its record (pure)
round.py    one round: load, fault, repair (deploy or restore), verify, a second deploy
runner.py   the rounds in turn, each from a healthy cluster; the JSON document, saved as it grows
report.py   the Spanish summary: a table of rounds and the figures
"""
