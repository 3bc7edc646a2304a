"""The benchmarks' one timer: run a step, print its label and seconds, return its value."""
import time


def timed(label, function):
    start = time.perf_counter()
    value = function()
    print("%-44s %8.3f s" % (label, time.perf_counter() - start))
    return value
