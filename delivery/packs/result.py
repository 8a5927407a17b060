"""What an import did, counted per kind of row, for the command's output, for callers such as
seed_demo, and for sections, which count their own rows into it (delivery.packs.sections)."""

from __future__ import annotations

from dataclasses import dataclass, field

TALLIES = (
    "units",
    "elements",
    "criteria",
    "evidence items",
    "courses",
    "course units",
    "modules",
    "resources",
)


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    def __bool__(self) -> bool:
        return any((self.created, self.updated, self.unchanged, self.deleted))

    def record(self, *, created: bool, changed: bool) -> None:
        """Count one row of the pack: created, or else updated when it changed."""
        if created:
            self.created += 1
        elif changed:
            self.updated += 1
        else:
            self.unchanged += 1


@dataclass
class ImportResult:
    """What one import did, for the command's output and for callers such as seed_demo."""

    pack_id: str
    title: str
    version: int
    sha256: str
    previous_version: int | None = None
    # This version was imported before, so nothing was written.
    skipped: bool = False
    # Skipped, though the pack's content is not what was imported under this version.
    differs: bool = False
    tallies: dict[str, Tally] = field(default_factory=lambda: {name: Tally() for name in TALLIES})
    files_stored: int = 0
    # Files whose content was in storage already (from the last import, or earlier in this one).
    files_unchanged: int = 0
    # Imported, but worth the author's attention (a unit whose tasks leave a criterion uncovered).
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        if self.skipped:
            lines = [
                f"Pack {self.pack_id} version {self.version} is already imported: nothing changed."
            ]
            if self.differs:
                lines.append(
                    "Its content differs from what was imported as this version: raise "
                    "pack.version to import the changes (or use --force)."
                )
            return lines
        if self.previous_version is None:
            was = ""
        elif self.previous_version == self.version:
            was = " (again, forced)"
        else:
            was = f" (was version {self.previous_version})"
        lines = [f"Imported pack {self.pack_id} version {self.version}{was}: {self.title}"]
        for name, tally in self.tallies.items():
            if tally:
                lines.append(
                    f"  {name}: {tally.created} created, {tally.updated} updated, "
                    f"{tally.deleted} deleted, {tally.unchanged} unchanged"
                )
        lines.append(
            f"  files: {self.files_stored} stored, {self.files_unchanged} already in storage"
        )
        lines += [f"Warning: {warning}" for warning in self.warnings]
        return lines
