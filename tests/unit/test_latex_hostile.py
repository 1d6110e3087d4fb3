"""A LaTeX source built to hurt the reader gets a clear ExtractionFailed, never a crash,
a file written outside the archive, or a file read from outside it."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from fakearxiv import tarball
from service.papers.failures import ExtractionFailed
from service.papers.latex import document_from_latex, document_from_source
from service.papers.latex_source import Limits, read_source

MAIN = "\\documentclass{article}\\begin{document}\n%s\n\\end{document}"


def _write(tmp_path: Path, data: bytes, name: str = "source.tar.gz") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _refused(path: Path, limits: Limits | None = None) -> str:
    with pytest.raises(ExtractionFailed) as refused:
        read_source(path, limits) if limits else document_from_source(path)
    assert refused.value.code == "latex_unreadable"
    return refused.value.message


def test_a_tar_bomb_is_refused_from_its_headers(tmp_path: Path) -> None:
    # 8 MiB of zeros gzip to a few KiB; the archive's headers declare them first.
    path = _write(tmp_path, tarball({"main.tex": MAIN % "x", "zeros.bin": bytes(8 << 20)}))
    assert path.stat().st_size < 64 * 1024
    message = _refused(path, Limits(archive_bytes=1 << 20))
    assert "too large" in message


def test_too_many_files(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {f"part{n}.tex": "x" for n in range(30)}
    path = _write(tmp_path, tarball({"main.tex": MAIN % "x", **files}))
    assert "too large" in _refused(path, Limits(members=10))


def test_a_huge_text_file(tmp_path: Path) -> None:
    path = _write(tmp_path, tarball({"main.tex": MAIN % ("word " * 100_000)}))
    assert "too large" in _refused(path, Limits(file_bytes=100_000))


def test_a_gzipped_tex_that_inflates_too_far(tmp_path: Path) -> None:
    path = _write(tmp_path, gzip.compress((MAIN % "x").encode() + b" " * (4 << 20)), "a.tex.gz")
    assert "larger than" in _refused(path, Limits(file_bytes=1 << 20))


def _links_and_devices() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, kind, target in (
            ("main.tex", tarfile.SYMTYPE, "/etc/passwd"),
            ("other.tex", tarfile.LNKTYPE, "main.tex"),
            ("device.tex", tarfile.CHRTYPE, ""),
        ):
            member = tarfile.TarInfo(name)
            member.type, member.linkname = kind, target
            archive.addfile(member)
    return buffer.getvalue()


def test_links_and_devices_are_never_read(tmp_path: Path) -> None:
    path = _write(tmp_path, _links_and_devices())
    assert "no main file" in _refused(path)


def test_inputs_never_leave_the_archive(tmp_path: Path) -> None:
    secret = tmp_path / "secret.tex"
    secret.write_text("SECRET")
    body = "Before. \\input{../secret} \\input{/etc/hostname} \\include{../../secret.tex} After."
    files = {"paper/main.tex": MAIN % body, "../evil.tex": "EVIL", "/abs.tex": "ABS"}
    path = _write(tmp_path, tarball(files))
    text = read_source(path)
    assert "Before." in text
    assert "After." in text
    assert "SECRET" not in text
    assert "EVIL" not in text
    assert "ABS" not in text
    assert not (tmp_path / "evil.tex").exists()


def test_an_input_loop(tmp_path: Path) -> None:
    files = {"main.tex": MAIN % "\\input{a}", "a.tex": "A \\input{b}", "b.tex": "B \\input{a}"}
    assert "inside itself" in _refused(_write(tmp_path, tarball(files)))


def test_inputs_nested_too_deep(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {f"f{n}.tex": f"\\input{{f{n + 1}}}" for n in range(40)}
    files["main.tex"] = MAIN % "\\input{f0}"
    assert "deep" in _refused(_write(tmp_path, tarball(files)))


def test_a_file_input_a_billion_times(tmp_path: Path) -> None:
    # Each level inputs the one below ten times: 10^9 copies of the last, were it followed.
    files: dict[str, str | bytes] = {f"l{n}.tex": f"\\input{{l{n + 1}}}" * 10 for n in range(9)}
    files["l9.tex"] = "lol " * 100
    files["main.tex"] = MAIN % "\\input{l0}"
    assert "too long" in _refused(_write(tmp_path, tarball(files)))


def test_a_damaged_archive(tmp_path: Path) -> None:
    data = tarball({"main.tex": MAIN % ("text " * 5000)})
    assert "damaged" in _refused(_write(tmp_path, data[: len(data) // 2]))


def test_not_an_archive_at_all(tmp_path: Path) -> None:
    assert "damaged" in _refused(_write(tmp_path, b"<html>Not found</html>"))


def test_macros_that_expand_without_end() -> None:
    with pytest.raises(ExtractionFailed, match="macros"):
        document_from_latex(MAIN % "\\def\\a{\\a\\a\\a\\a}\\a", Limits(expanded_chars=100_000))


def test_groups_nested_ten_thousand_deep_still_read() -> None:
    deep = "{" * 10_000 + "deep" + "}" * 10_000
    document = document_from_latex(MAIN % f"\\section{{S}} Before {deep} after.")
    (block,) = document.sections[0].blocks
    assert "Before" in block.text
    assert "deep" in block.text
    assert "after." in block.text


def test_an_unclosed_environment_reads_to_the_end() -> None:
    document = document_from_latex(MAIN % "\\section{S} Text. \\begin{equation} x = 1")
    assert [block.kind.value for block in document.sections[0].blocks] == ["text", "equation"]
