"""Benchmarks for episode-bot (`make bench`, i.e. `python -m bench`); not run by `make test`."""
