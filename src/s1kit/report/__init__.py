"""The self-contained HTML report (:mod:`s1kit.report.html`, its template and script)."""
