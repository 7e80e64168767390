"""Printing for people: the terminal's decisions, tables, data shown verbatim."""
