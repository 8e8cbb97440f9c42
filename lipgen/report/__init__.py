"""`lipgen collect`: result.json files from any machine -> tables (CSV, JSON, Markdown, text), a .solu, plots."""

from lipgen.report.collect import Report, collect

__all__ = ["Report", "collect"]
