"""`manage.py bench`: the platform's speed and memory, measured on this machine in one run.

Each part returns a flat dict of figures; the command prints them as a table and writes JSON.
Variants are compared as ratios within the run, since shared machines drift between runs.
"""
