"""Content packs: a catalogue (units, courses, modules, resources and their files) as one
versioned directory or zip with a pack.yaml, for authoring outside the admin, moving content
between providers' servers and seeding demos. The format is described in
docs/content-packs.md.

- `schema`: pack.yaml read into typed specs, and the rules that need no database;
- `source`: a pack's files, from a directory or a zip, never extracted;
- `importer`: `import_pack`, which checks everything, then writes in one transaction;
- `exporter`: `export_pack`, which writes courses back out in the same format.
"""

from __future__ import annotations

from delivery.packs.exporter import ExportResult, export_pack
from delivery.packs.importer import ImportResult, Tally, import_pack
from delivery.packs.schema import FORMAT, PackError

__all__ = [
    "FORMAT",
    "ExportResult",
    "ImportResult",
    "PackError",
    "Tally",
    "export_pack",
    "import_pack",
]
