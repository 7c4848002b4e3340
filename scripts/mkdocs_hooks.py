"""MkDocs hooks: put the editor extension's README (and its pictures) into the site.

The README lives beside the extension's code, outside `docs/`; it is added to the site
at the same relative path, so its own links keep working. That includes the pictures it
shares with the docs (`../docs/images/`), added again at that path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

_OUTSIDE_DOCS = ("editor-extension/README.md", "editor-extension/docs/*.png", "docs/images/*.png")


def on_files(files: Files, config: Any) -> Files:
    root = Path(config.config_file_path).parent
    for pattern in _OUTSIDE_DOCS:
        for found in sorted(root.glob(pattern)):
            path = found.relative_to(root).as_posix()
            files.append(File.generated(config, path, abs_src_path=str(found)))
    return files
