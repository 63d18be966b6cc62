"""A report's pages to one PDF: numbered, with metadata, written under a temporary name and renamed.

No CreationDate is set: matplotlib then takes SOURCE_DATE_EPOCH when it is
set, so the same results give the same bytes.
"""
from __future__ import annotations

import os
from pathlib import Path

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from sim import __version__
from sim.report.charts import footer


def write_pdf(figures: list[Figure], path: Path, metadata: dict) -> Path:
    """Save numbered `figures` (`number_pages`) to `path`; returns `path`."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    with PdfPages(partial, metadata={**metadata, "Author": f"Erhai {__version__}"}) as pdf:
        for figure in figures:
            pdf.savefig(figure)
    os.replace(partial, path)
    return path


def number_pages(figures: list[Figure], text: str) -> list[Figure]:
    """`figures`, each with `text` and its page number in the footer."""
    for number, figure in enumerate(figures, start=1):
        footer(figure, f"Erhai {__version__} · {text} · page {number} of {len(figures)}")
    return figures
