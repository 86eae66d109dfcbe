"""`chatcontract docs`: the offline documentation site of the specs, with a run's results.

Modules, one job each: `bundle` (a spec as one self-contained document), `decisions` (every
`x-decisions` with where it is recorded), `results` (read a results.json), `annotate` (the page's
copy of a spec with vendor links, results and decisions), `site` (write the pages and assets),
`serve` (serve the built site on loopback).
"""
