"""ASC X12 5010 files as pure functions: no database, no Django.

`envelope` writes and splits segments, `p837` writes professional claims (005010X222A1),
`r835` reads remittance advice (005010X221A1), `eligibility` writes 270 requests and reads
271 answers (005010X279A1), `check` validates a file against the implementation guide.
"""
