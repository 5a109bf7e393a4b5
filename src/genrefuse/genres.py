"""Genre names: GTZAN's ten are the default order when a dataset has exactly that set; one vocabulary
turns what people and taggers write ("Hip-Hop", "hip hop", a user's own aliases) into a model's genres."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from .errors import DataError

GTZAN_GENRES: tuple[str, ...] = (
    "blues", "classical", "country", "disco", "hiphop",
    "jazz", "metal", "pop", "reggae", "rock",
)


def genre_order(labels: Iterable[str]) -> list[str]:
    """The ordered genre list for a set of labels: GTZAN's order when it is GTZAN's set, else sorted."""
    found = set(labels)
    if found == set(GTZAN_GENRES):
        return list(GTZAN_GENRES)
    return sorted(found)


# Names people and taggers use for a model's genres. A name is matched case-insensitively with spaces,
# hyphens, underscores and ampersands ignored ("Hip-Hop", "hip hop" and "HIPHOP" are all hiphop).
ALIASES: dict[str, str] = {
    "rap": "hiphop", "hip hop": "hiphop", "heavy metal": "metal", "rock and roll": "rock", "rock n roll": "rock",
    "rock'n'roll": "rock", "country and western": "country", "classic": "classical", "rhythm and blues": "blues",
}
DISPLAY_NAMES: dict[str, str] = {"hiphop": "Hip-Hop"}      # how a genre is written into a file's tags
# names no genre (nor its folder) may take: the answer for "none of these", and every folder and file a
# library keeps beside its genre folders (``library.check.NOT_GENRE_FOLDERS`` must stay among them)
RESERVED = ("unknown", "playlists", "backups", "cf", "model", ".incoming", ".locks", ".features",
            "library.sqlite", "labels.csv")
# names Windows gives its devices: no file or folder may be called so there, with any extension
WINDOWS_DEVICES = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
                             *(f"lpt{i}" for i in range(1, 10))})
MAX_GENRE_CHARS = 64
MAX_GENRE_BYTES = 192        # UTF-8; every name derived from a genre (folder, playlist, tag) stays far below 255
# characters that show nothing or change the character before them: two names that look alike must be one
_INVISIBLE = {"Mn", "Me", "Cf", "Cc", "Co", "Cs", "Cn", "Zl", "Zp"}
_FOLDER_SAFE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_-])?$")     # no trailing dot (Windows)
# what separates several genres in one tag value ("Rock; Indie Rock", "Electronic / House"); '&' is not one
# ("Rhythm & Blues", "Drum & Bass")
TAG_SEPARATORS = re.compile(r"\s*(?:;|,|/|\||\\\\|\x00)\s*")


def split_genre_tag(values: Iterable[str]) -> list[str]:
    """A file's genre tag values split on the usual separators, empty parts and ID3v1 numbers dropped,
    order kept: ``["Rock; Indie Rock"]`` -> ``["Rock", "Indie Rock"]``."""
    out = []
    for v in values:
        for part in TAG_SEPARATORS.split(str(v)):
            part = part.strip()
            if part and not re.fullmatch(r"\(?\d+\)?", part):
                out.append(part)
    return list(dict.fromkeys(out))


def fold(name: str) -> str:
    """A name as names are compared: Unicode-normalised (NFKC: full-width letters are plain ones), white space
    trimmed and single, case folded. Genre names and listener names both go through it."""
    return " ".join(unicodedata.normalize("NFKC", str(name)).split()).casefold()


def _key(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", name).casefold() if c not in " -_&/.")


def folder_name(genre: str) -> str:
    """The one name a genre's files, playlist and folder go by: the genre itself when it is a plain folder
    name, else a slug of it (``drum & bass`` -> ``drum-bass``, ``música`` -> ``musica``, a name of no
    Latin letters -> ``genre-<hash8>``). Two genres with the same folder name (case aside) are one genre."""
    if _FOLDER_SAFE.match(genre):
        return genre
    plain = "".join(c for c in unicodedata.normalize("NFKD", genre) if not unicodedata.combining(c))
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", plain).strip("-.")[:64]
    if not slug or not _FOLDER_SAFE.match(slug):
        slug = "genre-" + hashlib.sha256(genre.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return slug


def reserved_name(name: str) -> bool:
    """Whether a file or folder called ``name`` could be taken for one the library keeps for itself, or
    cannot exist on Windows (``CON``, ``nul.txt``), case and look-alike letters aside."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return folded in RESERVED or folded.split(".", 1)[0].strip() in WINDOWS_DEVICES


class Vocabulary:
    """The genres a model knows and every name that means one of them.

    >>> Vocabulary(["hiphop", "rock"]).resolve("Hip-Hop")
    'hiphop'
    """

    def __init__(self, genres: Iterable[str], aliases: dict[str, str] | None = None):
        self.genres: list[str] = []
        self._aliases = {**ALIASES, **(aliases or {})}
        self._names: dict[str, str] = {}
        self.extend(genres)

    def extend(self, genres: Iterable[str]) -> "Vocabulary":
        """Know these genres too (a library's own, beside its model's); aliases that name them now count."""
        self.genres += [g for g in genres if g not in self.genres and _key(g) not in self._names]
        for alias, genre in self._aliases.items():
            target = next((g for g in self.genres if _key(g) == _key(genre)), None)
            if target is not None:
                self._names.setdefault(_key(alias), target)
        self._names.update({_key(g): g for g in self.genres})
        return self

    def get(self, name: str) -> str | None:
        """The genre ``name`` means, or None."""
        return self._names.get(_key(str(name)))

    def near(self, name: str, n: int = 3) -> list[str]:
        """Known genres whose names are close to ``name`` (a typo's likely meaning), closest first."""
        import difflib

        keys = difflib.get_close_matches(_key(name), list(self._names), n=n * 2, cutoff=0.75)
        return list(dict.fromkeys(self._names[k] for k in keys))[:n]

    def resolve(self, name: str) -> str:
        """The genre ``name`` means; :class:`~genrefuse.errors.DataError` naming close or known ones when none."""
        genre = self.get(name)
        if genre is None:
            near = self.near(name)
            hint = f"did you mean {' or '.join(near)}? " if near else ""
            raise DataError(f"unknown genre {name!r}; {hint}known: {', '.join(self.genres)} (a new genre needs "
                            f"--new, or 'a new genre...' on the page)")
        return genre

    def new_name(self, name: str) -> str:
        """The name a new genre is stored under: Unicode-normalised (NFKC), trimmed, lower case, single
        spaces; an existing genre's name when ``name`` means one or would share its folder
        (:func:`folder_name`). A :class:`DataError` for an empty, over-long or reserved name (also once
        accents are dropped and wide letters folded: ``ćf``, ``ｍｏｄｅｌ``), and for one with invisible or
        combining characters (``rock`` + a zero-width space looks like ``rock`` and is not)."""
        known = self.get(name)
        if known is not None:
            return known
        clean = fold(name)
        if not clean or not _key(clean):
            raise DataError(f"{name!r} is not a genre name")
        hidden = [c for c in clean if unicodedata.category(c) in _INVISIBLE]
        if hidden:
            raise DataError(f"{name!r} cannot be a genre name: it holds invisible or combining characters "
                            f"({', '.join(f'U+{ord(c):04X}' for c in dict.fromkeys(hidden))})")
        if len(clean) > MAX_GENRE_CHARS or len(clean.encode()) > MAX_GENRE_BYTES:
            raise DataError(f"{name!r} cannot be a genre name: at most {MAX_GENRE_CHARS} characters "
                            f"({MAX_GENRE_BYTES} bytes in UTF-8)")
        folder = folder_name(clean)
        if any(c in clean for c in "/\\") or clean.startswith(".") or reserved_name(clean) or reserved_name(folder):
            raise DataError(f"{name!r} cannot be a genre name (no slashes; not {', '.join(RESERVED[:5])}, the "
                            f"library's own folders, nor a Windows device name such as CON or NUL)")
        same = next((g for g in self.genres if folder_name(g).casefold() == folder.casefold()), None)
        return same if same is not None else clean

    def resolve_all(self, names: Iterable[str]) -> list[str]:
        """Each name resolved, duplicates dropped, order kept."""
        return list(dict.fromkeys(self.resolve(n) for n in names if str(n).strip()))

    @staticmethod
    def display(genre: str) -> str:
        """The name a music player shows: ``Hip-Hop``, ``Rock``."""
        return DISPLAY_NAMES.get(genre, genre[:1].upper() + genre[1:])


def read_genre_map(path: str | Path) -> dict[str, str]:
    """A user's aliases: lines ``alias = genre`` (``#`` starts a comment), or a JSON object alias -> genre."""
    import json

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{path}: cannot read the genre map ({exc.strerror or exc})") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise DataError(f"{path}: a JSON genre map is an object of alias -> genre names")
        return {str(k): v for k, v in data.items()}
    out = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        alias, sep, genre = line.partition("=")
        if not sep or not alias.strip() or not genre.strip():
            raise DataError(f"{path}, line {n}: expected 'alias = genre', got {line!r}")
        out[alias.strip()] = genre.strip()
    return out
