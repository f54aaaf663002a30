"""Publishing a folder whole: a report month appears complete or not at all, and replacing
one never leaves a moment with none or with a mix of two runs' files.

Each run writes its own staging folder; `publish` then makes it the month in one atomic
step (Linux's renameat2 exchange), and removes what it replaced."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import tempfile
from pathlib import Path

RENAME_EXCHANGE = 2
AT_FDCWD = -100


def publish(staging: Path, target: Path) -> None:
    """Put the finished `staging` folder at `target`: with the month already there, the two
    change places in one atomic step, so readers see the old month or the new one, never
    neither and never a mix; the old one is then removed."""
    while True:
        try:
            os.rename(staging, target)  # no month there yet: atomic on its own
            return
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
        if _exchange(staging, target):
            shutil.rmtree(staging)
            return
        # No atomic exchange on this system: move the old month aside and try again (a
        # reader may find no month for that instant).
        aside = Path(tempfile.mkdtemp(prefix=".replaced.", dir=target.parent))
        with contextlib.suppress(FileNotFoundError):
            os.rename(target, aside / target.name)
        shutil.rmtree(aside)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two folders atomically (Linux's renameat2 RENAME_EXCHANGE); False where the
    system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(second))
