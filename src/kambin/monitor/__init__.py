"""The operating-room monitor in the browser: a thin trame view over `kambin.navigation` state.

`serve_simulated` runs the whole simulated operating room (`kambin.navigation.simulation`) behind
the page; `Monitor` (kambin.monitor.app) is the page and its HTTP API over any `Navigator`.
"""

from kambin.monitor.serve import build_simulated_monitor, serve_simulated

__all__ = ["build_simulated_monitor", "serve_simulated"]
