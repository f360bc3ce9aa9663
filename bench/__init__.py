"""The load benchmark: `make bench` (bench/run.py), its data (bench/seed.py), its ceiling (bench/hello.py)."""
