"""`./rb new SITE`: a site file written from answers, valid on the first try.

answers.py     what can be answered (flags, an answers file) and the site it makes
checks.py      each answer checked as it is given, in the models' own words
questions.py   the questions on a terminal, in Spanish
probe.py       what a node says about itself over SSH (read-only)
proposals.py   the answers those nodes suggest
site_text.py   the site as commented YAML
write.py       validated by the loader, then written (or nothing at all)
"""
