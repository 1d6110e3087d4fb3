"""Importing a package into a real Anki collection, as Anki desktop does by default."""

from __future__ import annotations

import uuid
from pathlib import Path

from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
from anki.import_export_pb2 import (
    IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
    ImportResponse,
)


def import_package(col: Collection, package: bytes, directory: Path) -> ImportResponse:
    path = directory / f"tutor-{uuid.uuid4()}.apkg"
    path.write_bytes(package)
    # Anki desktop's defaults: update notes and note types only when newer.
    options = ImportAnkiPackageOptions(
        update_notes=IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
        update_notetypes=IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
    )
    return col.import_anki_package(
        ImportAnkiPackageRequest(package_path=str(path), options=options)
    )
