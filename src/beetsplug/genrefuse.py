"""genrefuse for beets: the genre of each track, told from its audio, in beets' genre field.

Enable it with ``plugins: genrefuse`` in beets' config; then ``beet genrefuse [QUERY]`` predicts the matching
items, and with ``auto: yes`` every import does. It calls genrefuse's own prediction (the packaged model, a
model folder, or a genrefuse library's learnt model) and keeps each file's model inputs in a cache keyed by
its audio (the hash of its decoded samples, so that the tags beets writes do not invalidate it): a second
run only decodes to find them. Options, in the ``genrefuse:`` section of beets' config::

    auto: no              # also predict at import
    model: default        # the packaged model, a model folder, or a genrefuse library (its learnt model)
    count: 1              # the most probable genres to store
    separator: ", "       # between them, where beets has a single genre string
    min_confidence: null  # leave tracks less confident than this (null: the model's own thresholds); an answer
                          # the musicnn taggers dispute is unsure whatever this says
    force: no             # replace genres an item already has
    styles: no            # also store the musicnn tagger's styles (electronic, house, punk, ...)
    unknown: skip         # "none of these": skip, closest (store the closest genre), or a value to store
    album: yes            # the items of one beets album whose answers mostly agree get the album's genre,
                          # pooled from their probabilities (the album's own genre field too); one far from it
                          # keeps its own; an item is never surer than its own evidence: one the model is
                          # unsure of on its own is left as it is, whatever its album says
    moods: no             # also store the tagger's moods in ``mood`` ("happy, party"), the tempo in ``bpm`` and
                          # the energy (0..1, loud and fast against quiet, soft and slow) in ``energy``,
                          # whatever becomes of the genre
"""
from __future__ import annotations

import os
from pathlib import Path

from beets import ui
from beets.plugins import BeetsPlugin

from genrefuse.display import confidence_text
from genrefuse.models.verdict import SKIP_UNKNOWN, SKIP_UNSURE


class GenrefusePlugin(BeetsPlugin):
    def __init__(self) -> None:
        super().__init__()
        self.config.add({"auto": False, "model": "default", "count": 1, "separator": ", ", "min_confidence": None,
                         "force": False, "styles": False, "unknown": "skip", "moods": False,
                         "album": True})
        if self.config["auto"].get(bool):
            self.import_stages = [self.imported]
        self._model = None

    # ------------------------------------------------------------------ beets' hooks
    def commands(self) -> list[ui.Subcommand]:
        cmd = ui.Subcommand("genrefuse", help="tell each item's genre from its audio (genrefuse)")
        cmd.parser.add_option("-f", "--force", action="store_true", default=None,
                              help="replace genres the items already have")
        cmd.parser.add_option("-p", "--pretend", action="store_true", help="say what would be stored; change nothing")

        def run(lib, opts, args) -> None:
            if opts.force is not None:
                self.config["force"] = opts.force
            items = list(lib.items(args))
            albums: dict[int, list] = {}
            for item in items:
                if self.config["album"].get(bool) and item.album_id is not None:
                    albums.setdefault(item.album_id, []).append(item)
                else:
                    self.process(item, write=ui.should_write(), pretend=opts.pretend)
            for album_id, members in albums.items():
                self.process_album(lib, album_id, members, write=ui.should_write(), pretend=opts.pretend)

        cmd.func = run

        similar = ui.Subcommand("genrefuse-similar", help="the items that sound most like the first item of a query "
                                                          "(genrefuse)")
        similar.parser.add_option("-n", "--number", type="int", default=10, help="how many items (default 10)")

        def run_similar(lib, opts, args) -> None:
            seeds = list(lib.items(args))
            if not seeds:
                raise ui.UserError("no item matches that query")
            for item, score in self.similar(lib, seeds[0], opts.number):
                ui.print_(f"{score:.3f}  {item.artist} - {item.title}")

        similar.func = run_similar
        return [cmd, similar]

    def imported(self, session, task) -> None:
        items = list(task.imported_items())
        album = getattr(task, "album", None) if getattr(task, "is_album", False) else None
        if self.config["album"].get(bool) and album is not None and len(items) > 1:
            self.process_album(session.lib, album.id, items, write=ui.should_write())
            return
        for item in items:
            self.process(item, write=ui.should_write())

    # ------------------------------------------------------------------ the work
    @property
    def model(self):
        if self._model is None:
            from genrefuse import load_model

            name = self.config["model"].as_str()
            threshold = self.config["min_confidence"].get()
            self._model = load_model(None if name == "default" else Path(os.path.expanduser(name)),
                                     min_confidence=None if threshold is None else float(threshold))
        return self._model

    def process(self, item, *, write: bool, pretend: bool = False, prediction=None, album_verdict=None) -> None:
        """Predict one item (unless its ``prediction`` is given) and store its genre (and, when beets is set to
        write, its file's tag); ``album_verdict``: the verdict on it under its coherent album's genre
        (genrefuse's ``within_album``), stored instead of its own where it is sure."""
        old, name = _genres(item), _name(item)
        moods = self.config["moods"].get(bool)
        keep = bool(old) and not self.config["force"].get(bool)      # the verdict's first rule
        if keep:
            self._log.info("{}: keeps its genre {} (force: yes replaces it)", name, ", ".join(old))
            if not moods:
                return                    # before any decoding
        try:
            prediction = prediction or self.predict(os.fsdecode(item.path))
        except Exception as exc:          # genrefuse's one-line errors; the batch goes on
            self._log.warning("{}: {}", name, exc)
            return
        if moods:
            mood = self.config["separator"].as_str().join(n for n, _ in prediction.moods)
            self._log.info("{}: mood {}, bpm {}, energy {}", name, mood or "(none heard)", prediction.bpm,
                           prediction.energy)
            if not pretend:
                if mood:
                    item["mood"] = mood
                if prediction.bpm:
                    item.bpm = int(round(prediction.bpm))
                if prediction.energy is not None:
                    item["energy"] = prediction.energy      # a flexible field: `beet ls energy:0.65..`
                if keep:
                    item.try_sync(write=write, move=False)
        if keep:
            return
        verdict = album_verdict or prediction.verdict
        values = self.values(prediction, verdict=verdict)
        if not values:
            if moods and not pretend:
                item.try_sync(write=write, move=False)
            why = "unlike every genre the model knows" if verdict.unknown else \
                f"unsure ({verdict.genre} {confidence_text(verdict.confidence, self.model.rules.threshold(verdict.genre))}" + \
                (f"; the tagger hears {verdict.disputed_by})" if verdict.disputed_by else ")")
            if album_verdict is not None:
                why += f"; its album's genre is {verdict.genre}, which it is not sure of on its own"
            self._log.info("{}: left as it is: {}", name, why)
            return
        self._log.info("{}: {} -> {}", name, ", ".join(old) or "(no genre)", ", ".join(values))
        if pretend:
            return
        if "genres" in item._fields:
            item.genres = values
        else:                             # beets before the multi-valued field
            item.genre = self.config["separator"].as_str().join(values)
        item.try_sync(write=write, move=False)

    def process_album(self, lib, album_id: int, items: list, *, write: bool, pretend: bool = False) -> None:
        """One beets album: its items pooled into one genre (genrefuse's album verdict); a coherent album's items
        and the album itself take it, an item far from it and the items of an incoherent album their own."""
        from genrefuse.inference.albums import album_verdict, within_album

        kept = [i for i in items if _genres(i) and not self.config["force"].get(bool)]
        for item in kept:                 # a genre the collection has stays, undecoded (unless moods are asked)
            self.process(item, write=write, pretend=pretend)
        items = [i for i in items if i not in kept]
        if len(items) < 2:
            for item in items:
                self.process(item, write=write, pretend=pretend)
            return
        predictions = {}
        for item in items:
            try:
                predictions[item.id] = self.predict(os.fsdecode(item.path))
            except Exception as exc:      # genrefuse's one-line errors; the rest go on
                self._log.warning("{}: {}", _name(item), exc)
        done = [i for i in items if i.id in predictions]
        if len(done) < 2:
            for item in done:
                self.process(item, write=write, pretend=pretend, prediction=predictions[item.id])
            return
        whole = album_verdict(self.model.rules, [predictions[i.id] for i in done])
        album = lib.get_album(album_id)
        name = album.album if album is not None else f"album {album_id}"
        if not whole.coherent:
            self._log.info("{}: no one genre ({} of {} tracks say {}): each track by itself", name, whole.agree,
                           len(done), whole.verdict.answer)
        for k, item in enumerate(done):
            if k in whole.members:
                p = predictions[item.id]
                self.process(item, write=write, pretend=pretend, prediction=p, album_verdict=within_album(
                    self.model.rules, whole.genre, whole.verdict.confidence, p.probabilities, p.familiarity,
                    p.evidence))
            else:
                if k in whole.far:
                    self._log.info("{}: far from its album's genre ({}): keeps its own", _name(item), whole.genre)
                self.process(item, write=write, pretend=pretend, prediction=predictions[item.id])
        if whole.coherent and album is not None and not pretend:
            multi = "genres" in album._fields          # beets' multi-valued field, where it has one
            old = album.genres if multi else album.get("genre")
            if not old or self.config["force"].get(bool):
                if multi:
                    album.genres = [whole.genre]
                else:
                    album.genre = whole.genre
                album.store(inherit=False)       # the items' genres are each their own (above), never the album's
                self._log.info("{}: album genre {} ({} of {} tracks)", name, whole.genre, whole.agree, len(done))

    def similar(self, lib, seed, n: int) -> list[tuple[object, float]]:
        """The ``n`` items of the library that sound most like ``seed``, best first, with their cosine similarity
        (genrefuse's audio embeddings, from the cache the genre predictions fill; an item never predicted is
        analysed now, once). Items that cannot be read are logged and left out."""
        import numpy as np

        from genrefuse.preprocess.embedding import embedding

        def vector(item):
            try:
                return embedding(self.inputs(os.fsdecode(item.path)))
            except Exception as exc:      # genrefuse's one-line errors; the rest go on
                self._log.warning("{}: {}", _name(item), exc)
                return None

        target = vector(seed)
        if target is None:
            raise ui.UserError(f"{_name(seed)}: no embedding (its model hears no musicnn tagger)")
        scored = []
        for item in lib.items():
            if item.id == seed.id:
                continue
            v = vector(item)
            if v is not None:
                scored.append((item, float(np.dot(v, target))))
        return sorted(scored, key=lambda pair: -pair[1])[:n]

    def values(self, prediction, *, verdict=None) -> list[str]:
        """What to store for a prediction (genrefuse's ``verdict`` decides: the prediction's own, or the one under
        its album's genre): its top genres (the album's genre), styles if asked; none for a guess to leave alone;
        for "none of these" what ``unknown`` says."""
        verdict = verdict or prediction.verdict
        decision = verdict.tag_decision(existing=False)
        if decision == SKIP_UNKNOWN:
            policy = self.config["unknown"].as_str()
            if policy == "skip":
                return []
            if policy != "closest":
                return [policy]
        elif decision == SKIP_UNSURE:
            return []
        if verdict is not prediction.verdict:             # the album's genre
            return [verdict.genre]
        values = [g for g, _ in prediction.top(self.config["count"].get(int))]
        if self.config["styles"].get(bool):
            values += [name for name, _ in prediction.styles if name not in values]
        return values

    def predict(self, path: str):
        """genrefuse's prediction of a file, its model inputs cached by the file's audio."""
        model = self.model
        inputs = self.inputs(path)
        return model.postprocess(model.forward(inputs), path=path, inputs=inputs)

    def inputs(self, path: str):
        """A file's model inputs, from the cache keyed by its audio (computed and cached the first time)."""
        from genrefuse.fingerprint import audio_hash
        from genrefuse.io import cache_dir
        from genrefuse.features.params import recipe_id
        from genrefuse.preprocess.cache import ArrayCache, complete, get_inputs, put_inputs

        model = self.model
        cfg = model.bundle
        recipe = recipe_id(cfg.feature_params.to_dict(), cfg.window_policy.to_dict())
        cache = ArrayCache(cache_dir("beets"))
        identity = audio_hash(path)       # the samples' SHA-256, whatever tags beets writes
        inputs = get_inputs(cache, identity, recipe)
        if not complete(inputs, cfg):     # rows kept before MTT was heard, or the penultimate features read
            inputs = model.preprocess(path)
            put_inputs(cache, identity, recipe, inputs)     # table and taggram rows (Mel inputs are not kept)
        return inputs


def _name(item) -> str:
    """How a log line names an item: ``artist - title``, else the title, else the file's name."""
    artist, title = item.get("artist") or "", item.get("title") or ""
    if artist and title:
        return f"{artist} - {title}"
    return title or os.path.basename(os.fsdecode(item.path))


def _genres(item) -> list[str]:
    """The genres an item has now, from the multi-valued field where beets has it."""
    if "genres" in item._fields:
        return [g for g in (item.get("genres") or []) if g]
    genre = item.get("genre") or ""
    return [genre] if genre else []
