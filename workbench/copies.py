"""Copies the workbench keeps beside the store so that large inputs are not read twice: a
day of a by-day type as columns (frames), a merchant's file as parsed (imports). Each copy
is filed under a name that changes whenever what it copies changes, so a copy found is
right; one that is missing or damaged is simply made again."""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path


def kept(path: Path):
    """The copy filed at `path`, or None if there is none (or it cannot be read)."""
    try:
        with path.open("rb") as stream:
            return pickle.load(stream)
    except (OSError, EOFError, pickle.UnpicklingError):
        return None


def keep(path: Path, value, replaces: str | None = None) -> None:
    """File a copy whole (written aside, then renamed), and drop the older copies matching
    the glob `replaces`. A copy that cannot be written is only a copy: nothing is lost."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(descriptor, "wb") as stream:
            pickle.dump(value, stream, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
        temporary = None
        for older in path.parent.glob(replaces) if replaces else ():
            if older != path:
                older.unlink(missing_ok=True)
    except OSError:
        return
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
