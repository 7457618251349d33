"""The controller scenarios: one workflow at a time, a burst over distinct targets, a steady
arrival rate below capacity, and a storm of duplicates over few targets."""

from bench.scenarios.burst import BurstResult, burst
from bench.scenarios.latencies import Latencies
from bench.scenarios.one_at_a_time import one_at_a_time
from bench.scenarios.steady import SteadyResult, steady
from bench.scenarios.storm import StormResult, storm

__all__ = [
    "BurstResult",
    "Latencies",
    "SteadyResult",
    "StormResult",
    "burst",
    "one_at_a_time",
    "steady",
    "storm",
]
