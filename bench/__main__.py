"""`python -m bench [names…]`: run the benchmarks and print their figures side by side."""
import sys

from bench import aqi_engine, api_load, database

BENCHES = {"aqi": aqi_engine.main, "api": api_load.main, "database": database.main}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(BENCHES):
        BENCHES[name]()
