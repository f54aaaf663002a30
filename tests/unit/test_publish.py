"""Publishing a report folder: at every instant the month's path holds one whole month, old
or new; nothing staged or replaced is left behind."""

from __future__ import annotations

import os
import tempfile
import threading

from workbench.publish import _exchange, publish

FILES = ("a.csv", "b.csv", "summary.json")


def staged(parent, version: int) -> str:
    folder = tempfile.mkdtemp(prefix=".staging.", dir=parent)
    for name in FILES:
        with open(os.path.join(folder, name), "w") as stream:
            stream.write(f"{version}\n" * 50)
    return folder


def read_month(target) -> set[str] | None:
    """The versions in one reading of the month's files through one handle on its folder;
    None when the folder was replaced and removed while being read."""
    try:
        folder = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return {"no month"}
    try:
        versions = set()
        for name in FILES:
            descriptor = os.open(name, os.O_RDONLY, dir_fd=folder)
            with os.fdopen(descriptor) as stream:
                versions.update(stream.read().split())
        return versions
    except FileNotFoundError:
        return None
    finally:
        os.close(folder)


def test_two_writers_and_a_reader(tmp_path):
    target = tmp_path / "2026-10"
    publish(staged(tmp_path, 0), target)
    readings, done = [], threading.Event()

    def read() -> None:
        while not done.is_set():
            readings.append(read_month(target))

    def write(first: int) -> None:
        for version in range(first, first + 150):
            publish(staged(tmp_path, version), target)

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(start,)) for start in (1, 1000)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    done.set()
    reader.join()
    whole = [versions for versions in readings if versions is not None]
    assert {"no month"} not in whole
    assert all(len(versions) == 1 for versions in whole), "a reading mixed two months"
    assert len(whole) > 10
    assert sorted(os.listdir(tmp_path)) == ["2026-10"]
    assert read_month(target) in ({"150"}, {"1149"})


def test_the_exchange_is_one_step(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (old / "was").touch()
    (new / "is").touch()
    assert _exchange(new, old)
    assert os.listdir(old) == ["is"] and os.listdir(new) == ["was"]
