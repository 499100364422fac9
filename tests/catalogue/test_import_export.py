"""`flask cardpay courses import FILE` and `export`: by slug, all-or-nothing, exact prices, and a round trip."""

import json

from tests.catalogue.catalogue_helpers import add_course, audit_rows, course, slugs

HEADER = "slug,title,description,price,currency,active,access_url\n"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_csv_import_creates_and_updates_by_slug(app, runner, tmp_path):
    add_course(app, slug="intro-to-python", price_cents=49900)
    add_course(app, slug="kept-as-is", title="Kept As Is", price_cents=10000, description="Same.")
    path = write(tmp_path, "courses.csv", HEADER
                 + "intro-to-python,Intro to Python,Learn Python.,599.00,ZAR,true,https://learn.example.com/py\n"
                 + 'new-course,New Course,"Two lines,\nwith a comma",0.10,ZAR,false,\n'
                 + "kept-as-is,Kept As Is,Same.,100.00,ZAR,true,\n")
    result = runner.invoke(args=["cardpay", "courses", "import", path])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["updated intro-to-python", "created new-course", "unchanged kept-as-is",
                                          "imported 3 course(s): 1 created, 1 updated, 1 unchanged"]
    updated, created = course(app, "intro-to-python"), course(app, "new-course")
    assert (updated.price_cents, updated.access_url) == (59900, "https://learn.example.com/py")
    assert (created.price_cents, created.active, created.description) == (10, False, "Two lines,\nwith a comma")
    ((actor, _, details),) = audit_rows(app, "courses_imported")
    assert actor == "cli" and details["created"] == ["new-course"]
    assert details["updated"] == {"intro-to-python": {"price_cents": [49900, 59900],
                                                      "access_url": [None, "https://learn.example.com/py"]}}


def test_a_json_import_parses_prices_exactly(app, runner, tmp_path):
    rows = [{"slug": "big", "title": "Big", "price": "1999.99", "currency": "ZAR", "active": True},
            {"slug": "tiny", "title": "Tiny", "price": 0.10, "active": "yes"}]
    path = write(tmp_path, "catalogue.txt", json.dumps(rows))  # no extension to go by: the content says JSON
    result = runner.invoke(args=["cardpay", "courses", "import", path])
    assert result.exit_code == 0, result.output
    assert course(app, "big").price_cents == 199999
    assert course(app, "tiny").price_cents == 10


def test_one_invalid_row_changes_nothing_and_is_named(app, runner, tmp_path):
    add_course(app, slug="intro-to-python", price_cents=49900)
    path = write(tmp_path, "courses.csv", HEADER
                 + "intro-to-python,Intro to Python,,599.00,ZAR,true,\n"
                 + "new-course,New Course,,12.345,ZAR,true,\n"
                 + "other-course,Other,,10.00,USD,true,http://not-https.example.com\n")
    result = runner.invoke(args=["cardpay", "courses", "import", path])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "error row 2 (new-course): price: A price has at most two decimals (cents), like 499.99."
    assert lines[1].startswith("error row 3 (other-course): ") and "Currency must be ZAR." in lines[1]
    assert "https://" in lines[1]
    assert lines[2] == "nothing changed: 2 invalid row(s) of 3"
    assert slugs(app) == ["intro-to-python"] and course(app, "intro-to-python").price_cents == 49900
    assert audit_rows(app, "courses_imported") == []


def test_a_slug_twice_in_one_file_is_an_error(app, runner, tmp_path):
    rows = [{"slug": "same", "title": "A", "price": "1.00"}, {"slug": "same", "title": "B", "price": "2.00"}]
    result = runner.invoke(args=["cardpay", "courses", "import", write(tmp_path, "c.json", json.dumps(rows))])
    assert result.exit_code == 1
    assert "error row 2 (same): the slug is also on row 1" in result.output
    assert slugs(app) == []


def test_a_file_that_is_not_a_catalogue_is_refused(app, runner, tmp_path):
    result = runner.invoke(args=["cardpay", "courses", "import", write(tmp_path, "c.csv", "name,cost\nx,1\n")])
    assert result.exit_code == 1 and "missing: slug, title, price" in result.output


def test_export_then_import_says_unchanged_for_every_course(app, runner, tmp_path):
    add_course(app, slug="intro-to-python", price_cents=199999, access_url="https://learn.example.com/py",
               description='Quotes " and, commas\nand lines')
    add_course(app, slug="tiny", title="Tiny", price_cents=10, active=False)
    for fmt in ("csv", "json"):
        exported = runner.invoke(args=["cardpay", "courses", "export", "--format", fmt])
        assert exported.exit_code == 0, exported.output
        path = write(tmp_path, f"export.{fmt}", exported.output)
        again = runner.invoke(args=["cardpay", "courses", "import", path])
        assert again.exit_code == 0, again.output
        assert again.output.splitlines()[:2] == ["unchanged intro-to-python", "unchanged tiny"]
    csv_text = runner.invoke(args=["cardpay", "courses", "export"]).output
    assert csv_text.splitlines()[0] == HEADER.strip()
    assert "1999.99" in csv_text and "0.10" in csv_text
    exported = json.loads(runner.invoke(args=["cardpay", "courses", "export", "--format", "json"]).output)
    assert exported[1] == {"slug": "tiny", "title": "Tiny", "description": "Learn Python.", "price": "0.10",
                           "currency": "ZAR", "active": False, "access_url": None}
