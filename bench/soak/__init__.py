"""``python -m bench.soak``: the soak benchmark (its code lives in bench/scale)."""
