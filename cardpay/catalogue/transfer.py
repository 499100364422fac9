"""Import and export of the catalogue: a CSV with a header row, or a JSON list, keyed by slug.

An import is all-or-nothing: every row is checked first, and only when all are valid are they
written, in one transaction with one audit row. Row numbers count courses from 1 (in a CSV, row 1
is the line after the header).
"""

import csv
import io
import json
from dataclasses import dataclass, field

from marshmallow import ValidationError

from cardpay import audit
from cardpay.catalogue import courses
from cardpay.catalogue import values as course_values
from cardpay.core.extensions import db


class FileUnreadable(Exception):
    """The file is neither a CSV with the expected header nor a JSON list of objects."""


@dataclass
class ImportResult:
    """One line per course (``created SLUG``, ``error row N (SLUG): reason``...) and whether it was written."""

    lines: list = field(default_factory=list)
    ok: bool = True
    counts: dict = field(default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0})


def read_rows(text, filename=""):
    """Return the rows of an import file as a list of dicts; JSON by extension or by its first character."""
    name = filename.lower()
    is_json = name.endswith(".json") or (not name.endswith(".csv") and text.lstrip().startswith(("[", "{")))
    if is_json:
        try:
            rows = json.loads(text)
        except ValueError as exc:
            raise FileUnreadable(f"not valid JSON: {exc}") from None
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise FileUnreadable("a JSON import is a list of objects, one per course")
        return rows
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))  # Excel starts its CSVs with a BOM
    missing = [name for name in ("slug", "title", "price") if name not in (reader.fieldnames or [])]
    if missing:
        raise FileUnreadable("a CSV import starts with the header " + ",".join(course_values.FIELDS)
                             + f" (missing: {', '.join(missing)})")
    return [{key: value for key, value in row.items() if key is not None} for row in reader]


def _check_all(rows):
    """Return ([(slug, columns)], [error lines]) for the rows, without writing anything."""
    checked, errors, seen = [], [], {}
    for number, row in enumerate(rows, start=1):
        slug = str(row.get("slug") or "").strip() or "?"
        try:
            columns = course_values.load(row)
        except ValidationError as exc:
            reasons = "; ".join(f"{key}: {value}" for key, value in course_values.first_messages(exc).items())
            errors.append(f"error row {number} ({slug}): {reasons}")
            continue
        if slug in seen:
            errors.append(f"error row {number} ({slug}): the slug is also on row {seen[slug]}")
            continue
        seen[slug] = number
        checked.append((slug, columns))
    return checked, errors


def import_rows(rows, actor):
    """Create or update courses by slug from checked rows, all in one transaction; return an ImportResult."""
    checked, errors = _check_all(rows)
    if errors:
        return ImportResult(lines=errors + [f"nothing changed: {len(errors)} invalid row(s) of {len(rows)}"],
                            ok=False)
    result, details = ImportResult(), {"created": [], "updated": {}}
    try:
        for slug, columns in checked:
            course = courses.by_slug(slug)
            if course is None:
                courses.apply_new(columns)
                outcome = "created"
                details["created"].append(slug)
            else:
                changes = courses.changes_between(course, columns)
                outcome = "updated" if changes else "unchanged"
                if changes:
                    courses.apply_changes(course, changes)
                    details["updated"][slug] = changes
            result.counts[outcome] += 1
            result.lines.append(f"{outcome} {slug}")
        audit.record("courses_imported", actor, "course", None, details={**details, "counts": result.counts})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result


def export_rows():
    """Return every course in the import shape, by slug."""
    return [course_values.as_values(course) for course in sorted(courses.all_courses(), key=lambda c: c.slug)]


def to_csv(rows):
    """Return rows as CSV text with the import header."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=course_values.FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "active": "true" if row["active"] else "false", "access_url": row["access_url"] or ""})
    return out.getvalue()


def to_json(rows):
    """Return rows as a JSON list (prices as text, so no float ever touches them)."""
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
