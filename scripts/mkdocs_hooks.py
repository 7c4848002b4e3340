"""MkDocs hooks: put the editor extension's README (and its picture) into the site.

The README lives beside the extension's code, outside `docs/`; it is added to the site
at the same relative path, so its own links keep working.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

_OUTSIDE_DOCS = ("editor-extension/README.md", "editor-extension/docs/status-bar.png")


def on_files(files: Files, config: Any) -> Files:
    root = Path(config.config_file_path).parent
    for path in _OUTSIDE_DOCS:
        files.append(File.generated(config, path, abs_src_path=str(root / path)))
    return files
