"""Editing saved shorts in the hosted studio: each short keeps a draft timeline, every render is a version, and an
earlier version can be restored. The REST API and the UI's Edit tab both go through this object.

A draft is changed only by naming the revision it was read at (its ETag), so two editors never overwrite each
other silently. Timelines saved here name the creator's photos and clips by asset id, never by a path.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from models.errors import InvalidMedia, InvalidRequest
from models.hub import sha256_file
from pipelines.timeline import Timeline
from pipelines.types import ShortResult
from studio.db import owned
from studio.engines import resolve_profile
from studio.errors import NotFound, PreconditionFailed, PreconditionRequired
from studio.tables import Asset, Job, Short, ShortVersion

if TYPE_CHECKING:
    from studio.hosted import Hosted
    from studio.jobs import Lease

log = logging.getLogger("studio.editing")


@dataclass(frozen=True)
class Variant:
    short_id: str  # the new short (rendered by ``job_id``)
    job_id: str
    experiment: dict  # the A/B test it joined: {id, name, alpha, variants: [{label, short_id}], created_at}


@dataclass(frozen=True)
class Draft:
    short_id: str
    timeline: dict
    etag: str
    version: int  # the version whose files the short shows now


def etag_of(short: Short) -> str:
    return f'"{short.id[:12]}-r{short.draft_rev}"'


class Editing:
    def __init__(self, hosted: Hosted) -> None:
        self.h = hosted

    # drafts
    def draft(self, owner: str, short_id: str) -> Draft:
        """The timeline the next render starts from, and the ETag an edit must name."""
        with self.h.db.session() as s:
            short = owned(s, Short, short_id, owner, "short")
            if short.draft is None:
                raise NotFound("This short was made before editing was possible; its photos were not kept.",
                               "Make it again to edit it.", code="not_editable")
            return Draft(short.id, dict(short.draft), etag_of(short), short.version)

    def save_draft(self, owner: str, short_id: str, document: dict, if_match: str | None) -> Draft:
        """Replace the draft with ``document`` (checked against the schema and the studio's presets, every asset
        the caller's own), provided ``if_match`` is the draft's current ETag."""
        if not if_match:
            raise PreconditionRequired("Saving a timeline needs the If-Match header with the ETag you read it at.",
                                       "GET the timeline first and send its ETag back in If-Match.")
        with self.h.db.session() as s:
            owned(s, Short, short_id, owner, "short")  # someone else's short: 404 before its document is looked at
        timeline = self.check(owner, document)
        stale = PreconditionFailed("Someone saved this timeline after you read it.",
                                   "GET it again, apply your change to the newest version, and save that.")
        with self.h.db.session() as s:
            short = owned(s, Short, short_id, owner, "short")
            tags = {t.strip() for t in if_match.split(",")}
            if short.draft is None or (etag_of(short) not in tags and "*" not in tags):
                raise stale
            # compare and set in one statement: of two saves naming the same revision, exactly one lands
            done = s.execute(update(Short).where(Short.id == short.id, Short.owner_id == owner,
                                                 Short.draft_rev == short.draft_rev)
                             .values(draft=timeline.to_dict(), draft_rev=short.draft_rev + 1)).rowcount
            if done != 1:
                raise stale
        return self.draft(owner, short_id)

    def check(self, owner: str, document: dict) -> Timeline:
        """A timeline document as the API receives it: the schema, the timeline's own rules, names the studio
        knows, and assets that are the caller's (another account's asset is answered exactly like a missing one)."""
        if not isinstance(document, dict):
            raise InvalidRequest("A timeline is a JSON object.", "Send the document GET returned, edited.")
        timeline = Timeline.from_dict(document)  # the schema, then the timeline's own rules, each naming the field
        self.h.studio_for(owner).presets(timeline)  # unknown platform, template, voice or language: refused, named
        with self.h.db.session() as s:
            for i, scene in enumerate(timeline.scenes):
                if scene.visual.is_file:
                    if scene.visual.asset is None:
                        raise InvalidRequest(f"Timeline field scenes[{i}].visual.path: the hosted studio takes "
                                             "photos and clips by asset id.",
                                             "Upload the file with POST /api/assets and put its id in visual.asset.")
                    asset = s.scalar(select(Asset).where(Asset.id == scene.visual.asset, Asset.owner_id == owner))
                    wanted = "image" if scene.visual.kind == "photo" else "video"
                    if asset is None or asset.kind != wanted:
                        raise InvalidRequest(f"Timeline field scenes[{i}].visual.asset: no {wanted} asset "
                                             f"{scene.visual.asset!r} of yours.", "Use the id of one of your assets.")
            if timeline.music.path is not None:
                raise InvalidRequest("Timeline field music.path: the hosted studio takes the music track by asset id.",
                                     "Upload the file with POST /api/assets and put its id in music.asset.")
            if timeline.music.asset is not None:
                asset = s.scalar(select(Asset).where(Asset.id == timeline.music.asset, Asset.owner_id == owner))
                if asset is None or asset.kind != "audio":
                    raise InvalidRequest(f"Timeline field music.asset: no audio asset {timeline.music.asset!r} of "
                                         "yours.", "Use the id of one of your assets.")
        return timeline

    # versions
    def versions(self, owner: str, short_id: str) -> tuple[int, list[ShortVersion]]:
        with self.h.db.session() as s:
            short = owned(s, Short, short_id, owner, "short")
            rows = s.scalars(select(ShortVersion).where(ShortVersion.short_id == short.id,
                                                        ShortVersion.owner_id == owner)
                             .order_by(ShortVersion.number.desc())).all()
            for row in rows:
                s.expunge(row)
            return short.version, list(rows)

    def restore(self, owner: str, short_id: str, number: int) -> Draft:
        """Make version ``number`` current again: its files are shown and its timeline becomes the draft."""
        with self.h.db.session() as s:
            short = owned(s, Short, short_id, owner, "short")
            version = s.scalar(select(ShortVersion).where(ShortVersion.short_id == short.id,
                                                          ShortVersion.owner_id == owner,
                                                          ShortVersion.number == number))
            if version is None:
                raise NotFound(f"This short has no version {number}.", "GET its versions to see which exist.",
                               code="version_not_found")
            s.execute(update(Short).where(Short.id == short.id, Short.owner_id == owner).values(
                files=dict(version.files), version=version.number, draft=dict(version.timeline),
                draft_rev=Short.draft_rev + 1, title=str(version.timeline.get("title") or short.title)[:300]))
        return self.draft(owner, short_id)

    # A/B variants
    def variant(self, owner: str, short_id: str, *, hook: str | None = None, title: str | None = None,
                caption: str | None = None, hashtags: list[str] | None = None,
                quota: tuple[str, int] | None = None) -> Variant:
        """A variant of a short for an A/B test: a new short from its timeline with a different hook, title, caption
        or hashtags, rendered as a re-render (today's re-render quota), and the experiment it belongs to (the
        short's own, while it has fewer than three variants, else a new one)."""
        changes = {k: v for k, v in (("hook", hook), ("title", title), ("caption", caption),
                                     ("hashtags", hashtags)) if v is not None}
        draft = self.draft(owner, short_id)
        doc = {**draft.timeline, **changes}
        if not changes or all(draft.timeline.get(k) == v for k, v in changes.items()):
            raise InvalidRequest("A variant needs a different hook, title, caption or hashtags than the short.",
                                 "Change at least one of them; the test then shows which one works better.")
        timeline = self.check(owner, doc)
        with self.h.db.session() as s:
            base = owned(s, Short, short_id, owner, "short")
            formats = s.scalar(select(ShortVersion.formats).where(ShortVersion.short_id == base.id)
                               .order_by(ShortVersion.number.desc()).limit(1)) or {}
            copy = Short(owner_id=owner, project_id=base.project_id, title=(timeline.title or base.title)[:300],
                         files={}, engines={}, warnings={}, version=0, draft=timeline.to_dict(), draft_rev=1)
            s.add(copy)
            s.flush()
            new_id = copy.id
        try:
            job_id = self.start_render(owner, new_id, formats.get("items") or ["9:16"], quota=quota)
        except Exception:
            with self.h.db.session() as s:  # refused (the quota): no half-made variant is left behind
                s.execute(delete(Short).where(Short.id == new_id, Short.owner_id == owner))
            raise
        experiment = self.h.analytics.join_experiment(owner, short_id, new_id)
        return Variant(new_id, job_id, experiment)

    # rendering
    def start_render(self, owner: str, short_id: str, formats: tuple[str, ...] | list[str] = ("9:16",), *,
                     quota: tuple[str, int] | None = None) -> str:
        """Check the draft and the formats now (a refused render costs nothing), then spend one re-render of
        today's quota and queue the job, in one transaction. Answers the job id."""
        chosen = self.h.settings.parse_formats(list(formats))
        draft = self.draft(owner, short_id)
        self.check(owner, draft.timeline)
        from studio.hosted import today

        subject, limit = quota or (f"renders:user:{owner}", self.h.server.daily_renders)
        job_id = self.h.new_job(owner, "render", {"short_id": short_id, "formats": list(chosen),
                                                  "timeline": draft.timeline, "etag": draft.etag,
                                                  "quota": [subject, today()]}, subject, limit, "render")
        self.h.submit(job_id)
        return job_id

    def run_render_job(self, job_id: str, lease: Lease) -> None:
        h = self.h
        with h.db.session() as s:
            job = s.get(Job, job_id)
            spec, owner = dict(job.request), job.owner_id
            if s.scalar(select(ShortVersion.id).where(ShortVersion.job_id == job_id)) is not None:
                h.jobs.succeed(s, job_id, spec["short_id"])  # died after saving the version: finish the record only
                return
        work = h._work_dir()
        try:
            timeline = self.check(owner, spec["timeline"])
            assets = self._download_assets(owner, timeline, work / "assets")
            result = h.studio_for(owner).render(timeline, out_dir=work / "out", formats=tuple(spec["formats"]),
                                                assets=assets, on_progress=lease.progress)
            lease.check()
            self._save_version(owner, spec, result, job_id)
        except (InvalidRequest, InvalidMedia):
            h.jobs.give_back(job_id, unstarted_only=False)  # refused for what the timeline asks (found only now)
            raise
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _download_assets(self, owner: str, timeline: Timeline, folder: Path) -> dict[str, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        wanted = {sc.visual.asset for sc in timeline.scenes if sc.visual.is_file and sc.visual.asset}
        if timeline.music.asset:
            wanted.add(timeline.music.asset)
        out = {}
        with self.h.db.session() as s:
            keys = {a: owned(s, Asset, a, owner, "asset").storage_key for a in sorted(wanted)}
        for asset_id, key in keys.items():
            out[asset_id] = self.h.storage.download(key, folder / asset_id)
        return out

    def _save_version(self, owner: str, spec: dict, result: ShortResult, job_id: str) -> None:
        h = self.h
        files = h.store_files(owner, result.files)
        doc = result.timeline.to_dict()
        for attempt in range(5):  # two renders of one short finishing together: the later takes the next number
            try:
                with h.db.session() as s:
                    short = s.scalar(select(Short).where(Short.id == spec["short_id"], Short.owner_id == owner))
                    if short is None:
                        break
                    number = int(s.scalar(select(func.max(ShortVersion.number))
                                          .where(ShortVersion.short_id == short.id)) or 0) + 1
                    s.add(ShortVersion(short_id=short.id, owner_id=owner, number=number, job_id=job_id, timeline=doc,
                                       files=files, formats={"items": list(spec["formats"])}))
                    s.flush()
                    short.files, short.version = files, number
                    short.title = str(doc.get("title") or short.title)[:300]
                    short.warnings = {"items": list(result.warnings)}
                    rev = int(str(spec.get("etag", "")).rsplit("-r", 1)[-1].strip('"') or -1)
                    # nobody edited meanwhile: the draft takes the word timings just measured (a new revision)
                    s.execute(update(Short).where(Short.id == short.id, Short.draft_rev == rev)
                              .values(draft=doc, draft_rev=rev + 1))
                    h.jobs.succeed(s, job_id, short.id, resolve_profile(result.timeline.profile))
                    h.record_run(s, result, owner, job_id, short.id, {"render": True, "platform": doc.get("platform")})
                return
            except IntegrityError:
                with h.db.session() as s:
                    if s.scalar(select(ShortVersion.id).where(ShortVersion.job_id == job_id)) is not None:
                        return  # this job's version was saved by another attempt
                if attempt == 4:
                    raise
        for f in files.values():  # the short was deleted while it rendered: its files are nobody's
            h.delete_object_if_unused(f["key"])
        raise NotFound("The short was deleted while it was rendering.", code="short_not_found")

    # media
    def adopt_media(self, owner: str, result: ShortResult) -> ShortResult:
        """Rewrite a just-made short's timeline so its photos and clips are the owner's assets (an upload they
        made, matched by content, or else the file kept as a new asset), and save it over timeline.json."""
        from studio.api.uploads import examine
        from studio.hosted import _copy

        t = result.timeline

        def as_asset(rel: str) -> str:
            path = result.out_dir / rel
            sha = sha256_file(path)
            with self.h.db.session() as s:
                asset_id = s.scalar(select(Asset.id).where(Asset.owner_id == owner, Asset.sha256 == sha)
                                    .order_by(Asset.created_at).limit(1))
            if asset_id is None:
                asset_id = self.h.add_asset(owner, examine(_copy(path), path.name)).id
            return asset_id

        scenes = []
        for sc in t.scenes:
            if sc.visual.is_file and sc.visual.path:
                sc = replace(sc, visual=replace(sc.visual, path=None, asset=as_asset(sc.visual.path)))
            scenes.append(sc)
        music = replace(t.music, path=None, asset=as_asset(t.music.path)) if t.music.path else t.music
        adopted = replace(t, scenes=tuple(scenes), music=music)
        adopted.save(result.timeline_path)
        return replace(result, timeline=adopted)
