"""The MEDIA and MISSING_MEDIA blocks of restore.py: written only when they hold
something, read back as they were written, and every bad row refused with
restore.py and its line named."""

import pytest

from pyserializer.errors import DumpError
from pyserializer.files import manifest
from pyserializer.files.manifest import Manifest, MediaEntry, MissingMedia

SHA = "ab" * 32
OTHER_SHA = "cd" * 32


def rendered(media=(), missing=()):
    dump = Manifest(created="2026-12-07T00:00:00+00:00", media=list(media),
                    missing_media=list(missing))
    return manifest.render(dump)


def read_text(text, tmp_path):
    path = tmp_path / "restore.py"
    path.write_text(text, encoding="utf-8")
    return manifest.read_file(path)


def with_media_rows(rows, tmp_path, block="MEDIA"):
    """A restore.py whose ``block`` holds ``rows`` (lines of text), and the
    number of the line of its first row."""
    text = rendered()
    head, trailer = text.split('if __name__ == "__main__":', 1)
    lines = head.splitlines(keepends=True) + ["%s = [\n" % block]
    first = len(lines) + 1
    lines += [row + ",\n" for row in rows] + ["]\n", 'if __name__ == "__main__":' + trailer]
    return "".join(lines), first


def test_a_dump_without_media_has_no_media_blocks():
    text = rendered()
    assert "MEDIA" not in text


def test_media_and_missing_media_round_trip_through_restore_py(tmp_path):
    media = [
        MediaEntry("images/ä b.png", "mediaapp.item", "image", 12, SHA),
        MediaEntry("images/ä b.png", "mediaapp.copy", "image", 12, SHA),
        MediaEntry("docs/a.txt", "mediaapp.item", "attachment", 0, OTHER_SHA),
    ]
    missing = [MissingMedia("mediaapp.item", 3, "attachment", "docs/gone.txt"),
               MissingMedia("mediaapp.pair", ["a", 2], "attachment", "docs/gone.txt")]
    text = rendered(media, missing)
    assert '["images/ä b.png", "mediaapp.item", "image", 12, "%s"],' % SHA in text
    assert '["mediaapp.item", 3, "attachment", "docs/gone.txt"],' in text
    assert text.index("FILES = [") < text.index("MEDIA = [") < text.index("MISSING_MEDIA = [")
    dump = read_text(text, tmp_path)
    assert dump.media == media
    assert dump.missing_media == missing
    assert list(dump.media_files()) == ["images/ä b.png", "docs/a.txt"]


def test_a_file_is_left_out_only_when_every_row_naming_it_is():
    dump = Manifest(media=[
        MediaEntry("shared.png", "app.one", "image", 1, SHA),
        MediaEntry("shared.png", "app.two", "image", 1, SHA),
        MediaEntry("own.png", "app.one", "image", 1, OTHER_SHA),
    ])
    assert list(dump.media_files(lambda label: label == "app.one")) == ["shared.png"]
    assert list(dump.media_files(lambda label: True)) == []


@pytest.mark.parametrize("name, problem", [
    ("", "empty"),
    ("/etc/passwd", "absolute path"),
    ("../outside", "component"),
    ("a/../../b", "component"),
    ("a//b", "component"),
    ("./a", "component"),
    ("a/", "component"),
    ("a\\\\b", "backslash"),
    ("a\\u0000b", "control character"),
    ("a\\nb", "control character"),
    ("a\\u0085b", "control character"),
    ("x" * 1025, "longer than 1024"),
])
def test_a_media_name_that_could_leave_the_media_folder_is_refused_with_its_line(
    tmp_path, name, problem
):
    text, line = with_media_rows(['["%s", "app.model", "file", 1, "%s"]' % (name, SHA)],
                                 tmp_path)
    with pytest.raises(DumpError, match=problem) as refused:
        read_text(text, tmp_path)
    assert refused.value.path == tmp_path / "restore.py"
    assert refused.value.line == line


def test_the_longest_name_django_accepts_is_read(tmp_path):
    name = "d/" + "x" * 1022
    text, _ = with_media_rows(['["%s", "app.model", "file", 1, "%s"]' % (name, SHA)], tmp_path)
    assert read_text(text, tmp_path).media[0].name == name


@pytest.mark.parametrize("row, problem", [
    ('["a.png", "app.model", "file", 1]', "written as"),
    ('["a.png", "app.model", "file", "1", "%s"]' % SHA, "written as"),
    ('["a.png", "app.model", "file", true, "%s"]' % SHA, "written as"),
    ('["a.png", "app.model", "file", -1, "%s"]' % SHA, "between 0"),
    ('{"name": "a.png"}', "written as"),
])
def test_a_media_row_of_the_wrong_shape_is_refused_with_its_line(tmp_path, row, problem):
    text, line = with_media_rows([row], tmp_path)
    with pytest.raises(DumpError, match=problem) as refused:
        read_text(text, tmp_path)
    assert refused.value.line == line


def test_a_repeated_media_row_is_refused(tmp_path):
    row = '["a.png", "app.model", "file", 1, "%s"]' % SHA
    text, line = with_media_rows([row, row], tmp_path)
    with pytest.raises(DumpError, match="listed twice in MEDIA") as refused:
        read_text(text, tmp_path)
    assert refused.value.line == line + 1


def test_one_name_with_two_checksums_is_refused(tmp_path):
    text, line = with_media_rows([
        '["a.png", "app.model", "file", 1, "%s"]' % SHA,
        '["a.png", "app.other", "file", 1, "%s"]' % OTHER_SHA,
    ], tmp_path)
    with pytest.raises(DumpError, match="two sizes or checksums") as refused:
        read_text(text, tmp_path)
    assert refused.value.line == line + 1


def test_a_name_whose_folder_is_listed_as_a_file_is_refused(tmp_path):
    text, line = with_media_rows([
        '["a", "app.model", "file", 1, "%s"]' % SHA,
        '["a/b.png", "app.model", "file", 1, "%s"]' % OTHER_SHA,
    ], tmp_path)
    with pytest.raises(DumpError, match="one of its folders") as refused:
        read_text(text, tmp_path)
    assert refused.value.line == line + 1


@pytest.mark.parametrize("row, problem", [
    ('["app.model", 1, "file"]', "written as"),
    ('["app.model", null, "file", "a.png"]', "written as"),
    ('["app.model", 1, "file", "../a.png"]', "component"),
])
def test_a_bad_missing_media_row_is_refused_with_its_line(tmp_path, row, problem):
    text, line = with_media_rows([row], tmp_path, "MISSING_MEDIA")
    with pytest.raises(DumpError, match=problem) as refused:
        read_text(text, tmp_path)
    assert refused.value.line == line


def test_a_repeated_missing_media_row_is_refused(tmp_path):
    row = '["app.model", 1, "file", "a.png"]'
    text, line = with_media_rows([row, row], tmp_path, "MISSING_MEDIA")
    with pytest.raises(DumpError, match="listed twice in MISSING_MEDIA") as refused:
        read_text(text, tmp_path)
    assert refused.value.line == line + 1
