"""Replace one ``## `` section of docs/benchmarks.md (or add it at the end): what the bench
reports that write their own section share."""

from __future__ import annotations

import re
from pathlib import Path


def replace_section(doc: Path, heading: str, section: str) -> None:
    """``doc``'s section that starts with the line ``heading`` (up to the next ``## `` heading)
    becomes ``section``; appended when there is none."""
    text = doc.read_text()
    pattern = re.compile(r"^" + re.escape(heading) + r"\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    doc.write_text(text)
