"""The plan report: one self-contained HTML file (pictures embedded) a surgeon reads in a minute."""

from kambin.report.plan_report import build_report, write_report

__all__ = ["build_report", "write_report"]
