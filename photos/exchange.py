"""Photographs in the exchange document: `photo_consent` per patient, `photos` per visit.

Kept apart from patients/exchange (the importer is being rewritten to stream):
the importer and the exporter call the few functions here and nothing else.

Document keys (version 2, optional; cle-tracker-2.schema.json):

- patient `photo_consent`: {"level": none|record|teaching|publication,
  "date": YYYY-MM-DD, "note"?: text}. Written by every export (a fact of the
  record: it needs no file and imports anywhere).
- visit `photos`: [{"id", "areas": [CLASI area keys], "caption"?, "sha256",
  "file"}], in the visit's upload order. Written only by `export_cohort
  --with-photos DIR`, which also writes each photograph's full version as
  DIR/<id>.jpg: a reference without its file would make the document
  unimportable (import is all or nothing, files included), so a plain export
  (the browser's download too) carries no reference.

Import of a document with `photos` needs the folder of the files (the
document's own folder from the command line, or `--photos DIR`); every file
is checked before anything is written (it exists, is at most the upload size
limit, passes the upload's content and pixel checks, decodes whole, carries no
metadata, and its SHA-256 is the document's), the rows are written in the
import's transaction, and the files copied into storage are removed again if
that transaction does not commit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db.models import Count
from django.utils import timezone

from patients.dates import implausible
from photos import imaging
from photos.models import ConsentLevel, Photo, PhotoConsent, consent_allows

# The exported file of a photograph: its id, nothing else (no patient data in a name).
FILE_NAME = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.jpg$")


def file_name(photo_id) -> str:
    return f"{photo_id}.jpg"


# ------------------------------------------------------------------ export


def _consent_key(consent: PhotoConsent) -> dict[str, Any]:
    out: dict[str, Any] = {"level": consent.level, "date": consent.given_on.isoformat()}
    if consent.note:
        out["note"] = consent.note
    return out


def _with_key_before(mapping: dict, key: str, value: Any, before: tuple[str, ...]) -> dict:
    """`mapping` with `key` placed before the first of `before` present (else last):
    the document's key order is its byte-for-byte identity."""
    out: dict = {}
    for k, v in mapping.items():
        if k in before and key not in out:
            out[key] = value
        out[k] = v
    out.setdefault(key, value)
    return out


def add_to_document(doc: dict[str, Any], clinic, *, references: bool) -> None:
    """Add `photo_consent` to the document's patients (one query) and, if
    `references`, `photos` to their visits (one more query)."""
    consents = {
        c.patient.code: c
        for c in PhotoConsent.objects.filter(patient__clinic=clinic).select_related("patient")
    }
    photos: dict[tuple[str, str], list[dict[str, Any]]] = {}
    if references:
        rows = (
            Photo.objects.filter(visit__patient__clinic=clinic)
            .order_by("visit__patient__code", "visit__date", "uploaded_at", "id")
            .values_list("id", "visit__patient__code", "visit__date", "areas", "caption", "sha256")
        )
        for pk, code, day, areas, caption, sha256 in rows:
            item: dict[str, Any] = {"id": str(pk), "areas": list(areas)}
            if caption:
                item["caption"] = caption
            item["sha256"] = sha256
            item["file"] = file_name(pk)
            photos.setdefault((code, day.isoformat()), []).append(item)
    patients = doc["patients"]
    for n, patient in enumerate(patients):
        consent = consents.get(patient["code"])
        if consent is not None:
            patient = patients[n] = _with_key_before(
                patient, "photo_consent", _consent_key(consent), ("courses", "visits"))
        for visit in patient.get("visits", []):
            found = photos.get((patient["code"], visit["date"]))
            if found:
                visit["photos"] = found


def _references(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for patient in doc.get("patients", []):
        for visit in patient.get("visits", []):
            yield from visit.get("photos", [])


class ExportError(ValueError):
    pass


# A photograph is patient data: readable by the exporting account only, as in storage.
_PRIVATE_FILE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


def write_files(doc: dict[str, Any], folder: Path) -> tuple[int, int]:
    """Copy the full version of every photograph the document references into
    `folder` as <id>.jpg, checking each against its row's SHA-256 (a file
    damaged in storage is an error, not an export). Returns (files, bytes)."""
    from photos.services import photo_storage

    wanted = {ref["id"]: ref for ref in _references(doc)}
    names = dict(Photo.objects.filter(pk__in=list(wanted)).values_list("id", "full_name"))
    storage = photo_storage()
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for pid, ref in wanted.items():
        target = folder / ref["file"]
        partial = target.with_suffix(".jpg.part")
        digest = hashlib.sha256()
        try:
            with storage.open(names[uuid.UUID(pid)], "rb") as source, \
                    os.fdopen(os.open(partial, _PRIVATE_FILE, 0o600), "wb") as out:
                for chunk in iter(lambda: source.read(1 << 20), b""):
                    digest.update(chunk)
                    out.write(chunk)
        except (KeyError, FileNotFoundError):
            partial.unlink(missing_ok=True)
            raise ExportError(f"photograph {pid}: its file is missing from the photo storage "
                              "(see manage.py photo_orphans)") from None
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise ExportError(f"cannot copy photograph {pid} to {target}: "
                              f"{error.strerror or error}") from None
        if digest.hexdigest() != ref["sha256"]:
            partial.unlink(missing_ok=True)
            raise ExportError(f"photograph {pid}: the stored file does not match its SHA-256 "
                              "(damaged in storage); restore it from backup")
        os.replace(partial, target)
        total += target.stat().st_size
    return len(wanted), total


def discard_replaced_files(patient_ids) -> None:
    """The importer replaces these patients' visits (their photographs' rows go
    with them, by cascade): their files go once the import commits."""
    from photos.services import _remove_on_commit

    _remove_on_commit([
        name for row in Photo.objects.filter(visit__patient_id__in=list(patient_ids))
        .values_list("full_name", "screen_name", "thumb_name") for name in row
    ])


# ------------------------------------------------------------------ the visits CSV


def counts_by_visit(clinic) -> dict[str, int]:
    """Photographs per visit of the clinic (visit id as text), in one query."""
    rows = (
        Photo.objects.filter(visit__patient__clinic=clinic)
        .values("visit_id").annotate(n=Count("id")).values_list("visit_id", "n")
    )
    return {str(visit_id): n for visit_id, n in rows}


# ------------------------------------------------------------------ import


class PhotoDocumentError(ValueError):
    """Raised as the importer's DocumentError (path, message) by the importer's hook."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(path, message)
        self.path, self.message = path, message


@dataclass
class _PhotoIn:
    path: str  # patients[0].visits[1].photos[2]
    code: str
    date: dt.date
    id: uuid.UUID
    areas: list[str]
    caption: str
    sha256: str
    file: Path


@dataclass
class _ConsentIn:
    path: str
    code: str
    level: str
    date: dt.date
    note: str


@dataclass
class PhotoImport:
    """What a document brings of photographs, checked; `write` stores it."""

    consents: list[_ConsentIn] = field(default_factory=list)
    photos: list[_PhotoIn] = field(default_factory=list)
    written: list[str] = field(default_factory=list)  # storage names, for the cleanup
    _seen: dict = field(default_factory=dict)  # photograph id -> its path, for duplicates

    def __bool__(self) -> bool:
        return bool(self.consents or self.photos)

    # -- before anything is written

    @classmethod
    def checked(cls, data: Any, folder: Path | None) -> PhotoImport:
        """Read and check the document's photograph keys and every file.

        Runs after the document passed the importer's checks (schema: key
        names, area keys, types, dates). Raises PhotoDocumentError naming the
        first problem's path, in document order; writes nothing. (A streaming
        importer calls `read_patient` per patient, then `check_files`.)"""
        plan = cls()
        for i, patient in enumerate(data.get("patients", [])):
            plan.read_patient(i, patient)
        plan.check_files(folder)
        return plan

    def read_patient(self, i: int, patient: dict) -> None:
        """The consent and photograph references of patients[i] (no file read yet)."""
        here = f"patients[{i}]"
        code = patient["code"].strip()
        raw = patient.get("photo_consent")
        consent = None
        if raw is not None:
            consent = _ConsentIn(f"{here}.photo_consent", code, raw["level"],
                                 dt.date.fromisoformat(raw["date"]), raw.get("note", "").strip())
            problem = implausible(consent.date)
            if problem is None and consent.date > timezone.localdate():
                problem = "the date of consent cannot be in the future"
            if problem:
                raise PhotoDocumentError(f"{consent.path}.date", problem)
            self.consents.append(consent)
        for j, visit in enumerate(patient.get("visits", [])):
            refs = visit.get("photos", [])
            if not refs:
                continue
            where = f"{here}.visits[{j}].photos"
            if consent is None:
                raise PhotoDocumentError(
                    where, f"{code} has photographs but no photo_consent; a photograph needs "
                    "the patient's consent, at least \"record\"")
            if not consent_allows(consent.level, ConsentLevel.RECORD):
                raise PhotoDocumentError(
                    where, f"{code}'s photo_consent is \"{consent.level}\" "
                    f"({here}.photo_consent.level); no photograph may be kept")
            for k, ref in enumerate(refs):
                self.photos.append(self._reference(f"{where}[{k}]", code, visit, ref, self._seen))

    def check_files(self, folder: Path | None) -> None:
        """Every referenced file, as an upload is checked (see _check_file)."""
        if not self.photos:
            return
        if folder is None:
            raise PhotoDocumentError(
                self.photos[0].path + ".file",
                "the document references photograph files; import it with "
                "`manage.py import_cohort FILE --photos DIR` (the folder export_cohort "
                "--with-photos wrote), or export it again without --with-photos")
        for photo in self.photos:
            photo.file = folder / photo.file.name
            _check_file(photo)

    @staticmethod
    def _reference(path: str, code: str, visit: dict, ref: dict, seen: dict) -> _PhotoIn:
        pid = uuid.UUID(ref["id"])
        if pid in seen:
            raise PhotoDocumentError(f"{path}.id", f"{ref['id']} is also the id of {seen[pid]}; "
                                                   "ids are unique")
        seen[pid] = path
        # The schema checks the file name's form; a name is never a path.
        name = ref["file"]
        if not FILE_NAME.match(name) or name != file_name(pid):
            raise PhotoDocumentError(f"{path}.file", f"{json_text(name)} is not "
                                                     f"{json_text(file_name(pid))}, the file of this id")
        areas = list(dict.fromkeys(ref["areas"]))
        return _PhotoIn(path, code, dt.date.fromisoformat(visit["date"]), pid, areas,
                        ref.get("caption", "").strip(), ref["sha256"], Path(name))

    # -- inside the import's transaction

    def write(self, clinic, *, skipped: list[str], actor=None) -> int:
        """Consents and photographs of the imported patients; the files copied
        into storage are listed in `written` (removed by `cleanup` on failure).
        Returns the number of photographs written."""
        from patients.models import Patient, Visit
        from photos.services import _new_name, limits, photo_storage

        skip = set(skipped)
        consents = [c for c in self.consents if c.code not in skip]
        photos = [p for p in self.photos if p.code not in skip]
        if not consents and not photos:
            return 0
        codes = {c.code for c in consents} | {p.code for p in photos}
        patients = dict(Patient.objects.filter(clinic=clinic, code__in=codes)
                        .values_list("code", "id"))
        # An update replaces the patient's consent with the document's.
        existing = {c.patient_id: c for c in PhotoConsent.objects.filter(
            patient_id__in=list(patients.values()))}
        for c in consents:
            row = existing.get(patients[c.code]) or PhotoConsent(patient_id=patients[c.code])
            row.level, row.given_on, row.note, row.recorded_by = c.level, c.date, c.note, actor
            row.save()  # audited by django-auditlog, like a consent recorded on the page
        if not photos:
            return 0
        taken = {str(pk) for pk in Photo.objects.filter(pk__in=[p.id for p in photos])
                 .values_list("pk", flat=True)}
        for p in photos:
            if str(p.id) in taken:
                raise PhotoDocumentError(f"{p.path}.id", f"a photograph {p.id} exists already "
                                                         "in this database; nothing was imported")
        visits = {
            (code, day): vid
            for code, day, vid in Visit.objects.filter(patient__clinic=clinic, patient__code__in=codes)
            .values_list("patient__code", "date", "id")
        }
        storage, shape = photo_storage(), limits()
        rows = []
        for p in photos:
            # Read again and re-hashed: the file checked before may have changed since.
            data = p.file.read_bytes()
            if hashlib.sha256(data).hexdigest() != p.sha256:
                raise PhotoDocumentError(f"{p.path}.file", f"{p.file} changed while importing")
            clean = imaging.restore(data, shape)
            names = {}
            for version in ("full", "screen", "thumb"):
                names[version] = storage.save(_new_name(), ContentFile(getattr(clean, version).data))
                self.written.append(names[version])
            rows.append(Photo(
                id=p.id, visit_id=visits[(p.code, p.date)], areas=p.areas, caption=p.caption,
                source_format=clean.source_format, width=clean.full.width, height=clean.full.height,
                full_name=names["full"], screen_name=names["screen"], thumb_name=names["thumb"],
                full_bytes=len(clean.full.data), screen_bytes=len(clean.screen.data),
                thumb_bytes=len(clean.thumb.data), sha256=clean.sha256, uploaded_by=actor,
            ))
        Photo.objects.bulk_create(rows, batch_size=500)
        # The document's order is the upload order: kept, so the pages (and a
        # second export) list them as the first clinic did.
        now = timezone.now()
        for k, row in enumerate(rows):
            row.uploaded_at = now + dt.timedelta(microseconds=k)
        Photo.objects.bulk_update(rows, ["uploaded_at"], batch_size=500)
        _audit(rows, {p.id: p.code for p in photos}, patients, actor)
        return len(rows)

    def cleanup(self) -> None:
        """Remove the files this import copied into storage (its transaction failed)."""
        from photos.services import _remove_files

        _remove_files(self.written)
        self.written.clear()

    @contextlib.contextmanager
    def files_removed_on_failure(self) -> Iterator[None]:
        """Around the import's transaction: any exception (the writes, or the
        commit itself) removes the files copied so far."""
        try:
            yield
        except BaseException:
            self.cleanup()
            raise


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _check_file(photo: _PhotoIn) -> None:
    """The upload's checks, on a file beside the document, before any write."""
    where, path = f"{photo.path}.file", photo.file
    max_bytes = settings.CLE_PHOTO_LIMITS["max_bytes"]
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise PhotoDocumentError(where, f"{path} does not exist; nothing was imported") from None
    except OSError as error:
        raise PhotoDocumentError(where, f"cannot read {path}: {error.strerror or error}") from None
    if size > max_bytes:  # refused from its size, never read
        raise PhotoDocumentError(where, f"{path} is {size / 1_048_576:.1f} MB; the limit is "
                                        f"{max_bytes // 1_048_576} MB")
    if size == 0:
        raise PhotoDocumentError(where, f"{path} is empty (an interrupted copy?)")
    from photos.services import limits

    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            imaging.check_restorable(handle, limits())
            handle.seek(0)
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except imaging.ImageRejected as rejected:
        raise PhotoDocumentError(where, f"{path} {rejected}") from None
    except OSError as error:
        raise PhotoDocumentError(where, f"cannot read {path}: {error.strerror or error}") from None
    if digest.hexdigest() != photo.sha256:
        raise PhotoDocumentError(
            where, f"{path} does not match the document's sha256 ({photo.sha256[:12]}…, the file "
                   f"is {digest.hexdigest()[:12]}…): a different or altered file")


def _audit(rows: list[Photo], codes: dict, patients: dict, actor) -> None:
    """One `create` entry per photograph, as django-auditlog writes on upload
    (bulk_create sends no signal), tied to the patient's history."""
    from audit.models import AuditEntry as LogEntry

    content_type = ContentType.objects.get_for_model(Photo)
    LogEntry.objects.bulk_create([
        LogEntry(
            content_type=content_type, object_pk=str(row.pk),
            object_repr="Photograph (imported)", action=LogEntry.Action.CREATE,
            changes={"areas": ["", ", ".join(row.areas)], "import": ["", "imported with its file"]},
            actor=actor, additional_data={"patient": str(patients[codes[row.pk]])},
        )
        for row in rows
    ], batch_size=500)
