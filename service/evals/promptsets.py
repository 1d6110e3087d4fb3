"""Prompt sets to evaluate: the shipped prompts, a folder, or the prompts at a git revision.

`prompts` is the installed package's folder; `prompts@v1` (any git revision: a tag, a
branch, a commit) is that folder as it was at the revision, read with `git archive` from
the current directory's repository; anything else is a folder of prompt files. Each set
is known by its label, the version of each file, and a digest of their text, so a result
says exactly which prompts produced it even when someone edited a file and forgot to
raise its version.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import prompts

_SHIPPED = "prompts"


class PromptSetError(Exception):
    pass


@dataclass(frozen=True)
class PromptSet:
    label: str
    directory: Path
    versions: dict[str, int]
    digest: str

    @classmethod
    def of(cls, label: str, directory: Path) -> PromptSet:
        files = sorted(directory.glob("*.md"))
        if not files:
            raise PromptSetError(f"{label}: no prompt files (*.md) in {directory}")
        versions: dict[str, int] = {}
        digest = hashlib.sha256()
        for path in files:
            text = path.read_text(encoding="utf-8")
            try:
                versions[path.stem] = prompts.parse(text, source=path.stem).version
            except prompts.PromptError as exc:
                raise PromptSetError(f"{label}: {exc}") from None
            digest.update(path.name.encode() + b"\0" + text.encode() + b"\0")
        return cls(label, directory, versions, digest.hexdigest()[:12])


def resolve(spec: str, *, scratch: Path) -> PromptSet:
    """The prompt set `spec` names; revisions are unpacked under `scratch`."""
    if spec == _SHIPPED:
        return PromptSet.of(spec, prompts.PROMPTS_DIR)
    name, at, revision = spec.partition("@")
    if at and name == _SHIPPED:
        return PromptSet.of(spec, _unpack(revision, scratch))
    directory = Path(spec)
    if not directory.is_dir():
        raise PromptSetError(f"{spec!r} is neither `prompts`, `prompts@REVISION` nor a folder")
    return PromptSet.of(spec, directory)


def _unpack(revision: str, scratch: Path) -> Path:
    """The repository's `prompts/` folder at `revision`, as files under `scratch`."""
    try:
        archive = subprocess.run(  # noqa: S603 (fixed program; the revision is an argument)
            ["git", "archive", "--format=tar", revision, "prompts"],  # noqa: S607
            capture_output=True,
            check=True,
        ).stdout
    except FileNotFoundError:
        raise PromptSetError("prompts@REVISION needs git, which is not installed") from None
    except subprocess.CalledProcessError as exc:
        reason = exc.stderr.decode(errors="replace").strip()
        raise PromptSetError(f"prompts@{revision}: {reason}") from None
    target = Path(tempfile.mkdtemp(prefix="prompts-", dir=scratch))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".md")]
        for member in members:
            source = tar.extractfile(member)
            assert source is not None  # a regular file
            (target / Path(member.name).name).write_bytes(source.read())
    return target
