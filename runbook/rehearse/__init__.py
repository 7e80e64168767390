"""`./rb rehearse SITE`: your site tried on the lab of this machine before production.

mapping.py  your site → the lab site with its shape on documentation addresses (pure)
files.py    that site checked (loader, lab layout), written to its state dir, read back
run.py      the stages: lab.up, deploy, verify, deploy again, drill planned and node-crash
summary.py  the Spanish summary
"""
