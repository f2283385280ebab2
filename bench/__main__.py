"""`python -m bench [names…]`: run the benchmarks and print their figures side by side."""
import importlib
import sys

# name -> module with a main(); imported on demand so one bench's heavy imports (TensorFlow) stay out of others.
BENCHES = {"aqi": "bench.aqi_engine", "database": "bench.database", "cache": "bench.cache_metrics",
           "api": "bench.api_load", "map": "bench.map_embed", "forecast": "bench.forecast", "ingest": "bench.ingest",
           "scale": "bench.scale_out", "alerts": "bench.alerts"}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(BENCHES):
        importlib.import_module(BENCHES[name]).main()
