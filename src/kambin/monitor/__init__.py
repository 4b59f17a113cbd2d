"""The operating-room monitor in the browser: a thin trame view over `kambin.navigation` state.

`Monitor` (kambin.monitor.app) is the page and its HTTP API over any `Navigator`;
`kambin.monitor.serve` builds one (`build_monitor`) over a session that `kambin.navigation.session`
assembles, the simulated operating room's (`serve_simulated`) or a real setup's (`serve_live`).
"""

from kambin.monitor.serve import build_monitor, build_simulated_monitor, serve_live, serve_simulated

__all__ = ["build_monitor", "build_simulated_monitor", "serve_live", "serve_simulated"]
