"""Content packs: a catalogue (units, courses, modules, resources and their files, and, through a
section, each unit's assessment tasks) as one versioned directory or zip with a pack.yaml, for
authoring outside the admin, moving content between providers' servers and seeding demos. The
format is described in docs/content-packs.md.

The modules, from the bottom up: each imports only modules listed before it. Reading:

- `problems`: where a problem is in pack.yaml (`Where`), collecting them (`Problems`), `PackError`;
- `yamltree`: pack.yaml loaded as YAML whose mappings and lists remember their lines;
- `reader`: `Reader`, the shapes and scalars every key is read with, problems reported;
- `specs`: the pack as typed specs (`PackSpec`, `UnitSpec`, `CourseSpec` ...), plain data;
- `result`: `ImportResult`, what an import did, counted (sections count into it too);
- `sections`: the extension point for keys under a unit that apps above delivery own;
- `schema`: `read_pack`, the format's own keys read into specs;
- `rules`: the rules between a pack's items (unique keys, numbering, prerequisites);
- `source`: a pack's files, from a directory or a zip, never extracted.

Importing and exporting:

- `checking`: a pack checked before anything is written (the models' rules, the files);
- `writing`: a checked pack written into the catalogue, row by row, in place;
- `importer`: `import_pack`, which checks everything, then writes in one transaction;
- `exporter`: `export_pack`, which writes courses back out in the same format.

Sections. delivery is the bottom layer (DESIGN.md), so this package cannot import the apps
that build on the catalogue, yet their content belongs in the same pack: a unit's `tasks` are
assessment's. Such an app implements `PackSection` (its key, and functions that read the YAML
under it with `reader.Reader`, check it against the rest of the pack, check it against the
current catalogue, write it and export it) and registers it with `register_section()` from its
`AppConfig.ready()`; `assessment.packs.TASKS` is the one there is. Reading, checking, writing
and exporting call every registered section at the matching step, in the same transaction and
with problems reported the same way. Without the app, no section claims the key, and `tasks:`
is refused as an unknown key rather than silently dropped.
"""

from __future__ import annotations

from delivery.packs.exporter import ExportResult, export_pack
from delivery.packs.importer import import_pack
from delivery.packs.problems import PackError
from delivery.packs.result import ImportResult, Tally
from delivery.packs.sections import PackSection, WriteContext, register_section
from delivery.packs.specs import FORMAT

__all__ = [
    "FORMAT",
    "ExportResult",
    "ImportResult",
    "PackError",
    "PackSection",
    "Tally",
    "WriteContext",
    "export_pack",
    "import_pack",
    "register_section",
]
