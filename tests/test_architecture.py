"""The layering of docs/architecture.md, as contracts on the imports of every module.

A newcomer should be able to draw the navigator from its folder list, and a change should not be
able to quietly bend it: each package imports only from itself and from the layers below it, bot and
console never import each other, the directory's wings and the Rasa side's parts keep their order,
there is no import circle (function-local imports included: hiding an import in a function does not
break a circle, it only hides it), and an import inside a function says on its line, or the line
above, why it is there.

The contracts are read from the source with `ast`, so they cost no start-up of the navigator.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("infra", "resources", "conversations", "bot", "console", "navigator")

# Bottom to top. A module may import from its own layer's package and from any layer below; two
# packages in one layer (bot, console) are independent of each other.
LAYERS = (
    ("infra",),  # configuration, database, clock, keys, rate limits, production checks, Twilio client
    ("resources",),  # the directory
    ("conversations",),  # handoffs, alerts, flood budget, shifts, retention: conversation state not Rasa's
    ("bot", "console"),  # the Rasa side; the advocate console
    ("navigator",),  # operations: CLI, serve, set-up, schema, the server entries
)

# Inside a package, the same rule between its parts (a part is a subpackage or a module; a module
# not listed belongs to the top of its package and may import every part).
PARTS = {
    "resources": (
        ("resources.models", "resources.places"),  # the records; places and geography
        ("resources.taxonomy",),  # kinds of help, tags, languages, national lines
        ("resources.search",),  # the one search, its index, hours, confidentiality
        ("resources.importers",),  # one importer per format, and the writer they share
    ),
    "bot": (
        ("bot.nlp", "bot.dialogue"),  # language tools; the dialogue's names
        ("bot.components",),  # the NLU pipeline's own components (safety, places)
        ("bot.handoff_replies", "bot.stores", "bot.response_rules", "bot.action_answer_check"),
        ("bot.actions", "bot.channels"),  # independent: a channel never runs an action's code
    ),
}


@dataclass(frozen=True)
class Import:
    importer: str  # the importing module
    imported: str  # the project module it names (the longest that exists)
    path: Path
    line: int
    local: bool  # inside a function
    commented: bool  # a comment on its line or the line above


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


MODULES = project_modules()


def resolve(name: str) -> str | None:
    """The project module `name` refers to (a name imported from a module resolves to it)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, path: Path) -> list[Import]:
    source = path.read_text()
    lines = source.splitlines()
    found: list[Import] = []

    def comment_near(node: ast.stmt) -> bool:
        """A comment on the import's line, or above it or above the block of imports it is in (one
        comment may give the reason for a few imports in a row)."""
        if "#" in lines[node.lineno - 1]:
            return True
        above = node.lineno - 2
        while above >= 0 and lines[above].strip().startswith(("from ", "import ")):
            above -= 1
        return above >= 0 and lines[above].strip().startswith("#")

    def visit(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                targets = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                    package = package[:len(package) - child.level + 1]
                    base = ".".join(package + ([base] if base else []))
                targets = [f"{base}.{alias.name}" for alias in child.names]
            else:
                visit(child, inner)
                continue
            for target in targets:
                imported = resolve(target) if target.split(".")[0] in PACKAGES else None
                if imported and imported != module:
                    found.append(Import(module, imported, path, child.lineno, local, comment_near(child)))
                elif local and not imported:  # a library imported late: it needs its reason too
                    found.append(Import(module, target, path, child.lineno, local, comment_near(child)))
    visit(ast.parse(source), False)
    return found


ALL_IMPORTS = [found for module, path in MODULES.items() for found in imports_of(module, path)]
PROJECT_IMPORTS = [found for found in ALL_IMPORTS if found.imported in MODULES]


def rank(module: str, layers) -> tuple[int, str] | None:
    """(layer index, group) of the layer `module` is in, or None when no layer names it."""
    for index, group in enumerate(layers):
        for prefix in group:
            if module == prefix or module.startswith(prefix + "."):
                return index, prefix
    return None


def where(found: Import) -> str:  # a failure names the file and line
    return f"{found.path.relative_to(ROOT)}:{found.line} {found.importer} imports {found.imported}"


def test_every_package_imports_only_downward():
    wrong = []
    for found in PROJECT_IMPORTS:
        (mine, my_group), (theirs, their_group) = rank(found.importer, LAYERS), rank(found.imported, LAYERS)
        if theirs > mine or (theirs == mine and my_group != their_group):
            wrong.append(where(found))
    assert wrong == []


@pytest.mark.parametrize("package", sorted(PARTS))
def test_the_parts_of_a_package_keep_their_order(package):
    layers = PARTS[package]
    wrong = []
    for found in PROJECT_IMPORTS:
        if not (found.importer.startswith(package + ".") and found.imported.startswith(package + ".")):
            continue
        mine, theirs = rank(found.importer, layers), rank(found.imported, layers)
        if mine is None or theirs is None:  # the package's top, or a module every part may use
            continue
        if theirs[0] > mine[0] or (theirs[0] == mine[0] and theirs[1] != mine[1]):
            wrong.append(where(found))
    assert wrong == []


def import_circles() -> list[list[str]]:
    """Every set of modules that import each other, directly or around a circle (Tarjan's SCC)."""
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for found in PROJECT_IMPORTS:
        graph[found.importer].add(found.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            members = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.append(member)
                if member == node:
                    break
            if len(members) > 1:
                circles.append(sorted(members))

    for module in graph:
        if module not in index:
            connect(module)
    return circles


def test_no_import_circle_even_through_function_local_imports():
    assert import_circles() == []


def test_an_import_inside_a_function_says_why():
    silent = [where(found) for found in ALL_IMPORTS if found.local and not found.commented]
    assert silent == []


def test_the_contracts_see_the_whole_tree():
    """A contract over nothing would pass: the checks above must see every package and its imports."""
    assert {module.split(".")[0] for module in MODULES} == set(PACKAGES)
    assert all(rank(module, LAYERS) for module in MODULES)
    assert len(PROJECT_IMPORTS) > 300
    assert any(found.importer.startswith("bot.channels") and found.imported.startswith("conversations")
               for found in PROJECT_IMPORTS)


def test_a_wrong_import_would_be_caught(tmp_path):
    """The checker itself: an upward import and a circle written to a scratch module are found."""
    scratch = tmp_path / "probe.py"
    scratch.write_text("from console import tokens\n\n\ndef late():\n    import bot.stores\n\n\n"
                       "def later():\n    # the reason\n    import bot.nlp\n    import bot.actions\n")
    found = imports_of("infra.probe", scratch)
    assert [(f.imported, f.local, f.commented) for f in found] == [
        ("console.tokens", False, False), ("bot.stores", True, False), ("bot.nlp", True, True),
        ("bot.actions", True, True)]
    (mine, _), (theirs, _) = rank(found[0].importer, LAYERS), rank(found[0].imported, LAYERS)
    assert theirs > mine


def declares_a_table(path: Path) -> bool:
    """Whether the module declares a table of the shared Base (a class with `__tablename__`)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ClassDef):
            for statement in node.body:
                if isinstance(statement, ast.Assign) and any(
                        isinstance(target, ast.Name) and target.id == "__tablename__" for target in statement.targets):
                    return True
    return False


def test_the_schema_loads_every_module_that_declares_a_table():
    """A table whose module navigator.schema does not import is never created, and the retention
    rule beside it is never seen: every owner must be one of the schema's own imports."""
    owners = {module for module, path in MODULES.items() if declares_a_table(path)}
    loaded = {found.imported for found in PROJECT_IMPORTS if found.importer == "navigator.schema"}
    assert len(owners) >= 10
    assert owners - loaded == set()
