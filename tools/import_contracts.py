"""Custom import-linter contract: apps meet only through each other's public modules.

`lint-imports` loads it from `.importlinter` (`contract_types`). For every import from one app
into another, the imported module must be the other app's package itself or lie in one of the
public modules named for that app (a public module may be a package: its submodules are public
too). Anything else (models, hub views, internal helpers) is private to its app.

Options:
    apps:           the apps (top-level packages) the contract covers
    public_modules: entries "app.module"; "app.*" makes every module of that app public
    ignore_imports: import expressions to leave out (tests looking at another app's tables)
"""
from __future__ import annotations

from importlinter import Contract, ContractCheck, fields, output
from importlinter.application import contract_utils


class PublicModulesContract(Contract):
    """import-linter declares each option as a class-level Field and sets the instance attribute
    to the field's parsed value (a list or set of str); its types describe only the Field, hence
    the narrow ignores where the parsed values are read."""

    type_name = "public_modules"

    apps = fields.ListField(subfield=fields.StringField())
    public_modules = fields.ListField(subfield=fields.StringField())
    ignore_imports = fields.SetField(subfield=fields.ImportExpressionField(), required=False)
    unmatched_ignore_imports_alerting = fields.EnumField(
        contract_utils.AlertLevel, default=contract_utils.AlertLevel.NONE
    )

    def _is_public(self, module: str) -> bool:
        app = module.split(".")[0]
        if module == app:
            return True
        for entry in self.public_modules:  # type: ignore[attr-defined]  # the parsed list[str]
            if entry == f"{app}.*" or module == entry or module.startswith(entry + "."):
                return True
        return False

    def check(self, graph, verbose: bool) -> ContractCheck:
        warnings = contract_utils.remove_ignored_imports(
            graph=graph,
            ignore_imports=self.ignore_imports,  # type: ignore[arg-type]  # the parsed set
            unmatched_alerting=self.unmatched_ignore_imports_alerting,  # type: ignore[arg-type]  # the parsed AlertLevel
        )
        apps: set[str] = set(self.apps)  # type: ignore[call-overload]  # the parsed list[str]
        broken: list[dict] = []
        for importer in sorted(graph.modules):
            src_app = importer.split(".")[0]
            if src_app not in apps:
                continue
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                dst_app = imported.split(".")[0]
                if dst_app == src_app or dst_app not in apps or self._is_public(imported):
                    continue
                details = graph.get_import_details(importer=importer, imported=imported)
                broken.append({
                    "importer": importer,
                    "imported": imported,
                    "lines": [d["line_number"] for d in details],
                })
        return ContractCheck(kept=not broken, warnings=warnings, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for item in check.metadata["broken"]:
            lines = ", ".join(f"l.{n}" for n in item["lines"])
            output.print_error(f"{item['importer']} -> {item['imported']} ({lines}): a private module of another app")
            output.new_line()
