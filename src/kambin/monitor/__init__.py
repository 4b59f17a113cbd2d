"""The operating-room monitor in the browser: a thin trame view over `kambin.navigation` state.

`Monitor` (kambin.monitor.app) is the page and its HTTP API over any `Navigator`;
`kambin.monitor.serve` assembles one with `build_monitor` from sources, calibration and
registration, either the simulated operating room's (`serve_simulated`) or a real setup's
(`serve_live`).
"""

from kambin.monitor.serve import (
    LiveOptions,
    MonitorSetup,
    build_monitor,
    build_simulated_monitor,
    serve_live,
    serve_simulated,
)

__all__ = ["LiveOptions", "MonitorSetup", "build_monitor", "build_simulated_monitor", "serve_live",
           "serve_simulated"]
