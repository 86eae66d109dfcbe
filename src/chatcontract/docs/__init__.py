"""`chatcontract docs`: the offline documentation site of the specs, with a run's results.

Modules, one job each: `bundle` (a spec as one self-contained document), `decisions` (every
`x-decisions` with where it is recorded), `results` (read a results.json), `runs` (results files
and folders as labelled runs, a history folder as dated runs), `matrix` (the side-by-side matrix of
many runs' targets), `annotate` (the page's copy of a spec with vendor links, results and
decisions), `site` (write the pages and assets), `serve` (serve the built site on loopback).
"""
