"""Load and scale benchmarks (`make bench`, see bench/run.py) and their results."""
