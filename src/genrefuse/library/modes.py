"""How a file comes into the library: one small strategy per ``ingest`` mode.

Each mode takes a user's file (or an upload of ours) and gives the file that is analysed and stored, with
its SHA-256, looked at once: ``copy`` copies it into ``LIBRARY/.incoming`` (hashing it first, so that bytes the
library holds are never copied, and again as it copies: what is stored is what was hashed), ``link`` and
``move`` hard-link it there and hash the link (a copy across file systems, or when tags will be written, since
a link shares the user's bytes), ``in-place`` hashes it where it is. A link is taken as the audio it leads
to. A file whose exact bytes the library already holds is not taken at all: the mode answers that track instead.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..audio import check_file
from ..io import file_hash
from . import store
from .db import Track


@dataclass(frozen=True)
class Taken:
    """What a mode took: the file to analyse and store and its SHA-256, or the track already holding it."""

    path: Path | None = None
    digest: str | None = None
    known: Track | None = None


@dataclass(frozen=True)
class Mode:
    name: str
    in_place: bool = False           # the row points at the user's file, which stays where it is
    removes_source: bool = False     # the user's file goes once its track is stored (``move``)
    links: bool = False              # hard-linked rather than copied into ``.incoming`` where it can be
    owned: bool = False              # the file is a temporary one of ours (an upload)

    @property
    def temporary(self) -> bool:
        """The taken file is a temporary one, removed once the track is stored (or not)."""
        return not self.in_place

    def take(self, path: Path, library_dir: Path, *, find: Callable[[str], Track | None],
             write_tags: bool) -> Taken:
        """Take ``path`` in (``find(digest)``: the track of those bytes, if any)."""
        if self.owned:
            return Taken(path, file_hash(path))
        first_look = check_file(path)
        if self.in_place:                                      # read once, where it is
            digest = store.hash_in_place(path, since=first_look)
            known = find(digest)
            return Taken(known=known) if known is not None else Taken(path.resolve(), digest)
        # a link is stored as the audio it leads to (the link itself would break when its target goes)
        source = path.resolve() if path.is_symlink() else path
        if self.links and not write_tags and (linked := store.link_to_incoming(source, library_dir,
                                                                              since=first_look)) is not None:
            known = find(linked[1])                            # hashed once: the link is the user's bytes
            if known is not None:
                linked[0].unlink(missing_ok=True)
                return Taken(known=known)
            return Taken(*linked)
        known = find(file_hash(path))     # before copying: known content is not copied again (a resumed batch)
        if known is not None:
            return Taken(known=known)
        return Taken(*store.copy_to_incoming(source, library_dir, since=first_look))


MODES: dict[str, Mode] = {m.name: m for m in (
    Mode("copy"),
    Mode("move", removes_source=True, links=True),
    Mode("link", links=True),
    Mode("in-place", in_place=True),
)}
UPLOAD = Mode("upload", owned=True)


def mode_named(name: str, *, owned: bool = False) -> Mode:
    """The mode called ``name`` (an upload of ours whatever the name when ``owned``)."""
    if owned:
        return UPLOAD
    if name not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    return MODES[name]
