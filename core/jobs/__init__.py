"""Admin jobs: ensure indexes, warm the cache, check database settings, retrain; one run at a time each."""
