"""The floor plan holds: no import circle, no private names across modules, extras imported in one place."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "captioner"
# wordfreq is a core dependency, but loaded lazily through extras.py too (the review flags can do without it).
EXTRA_MODULES = {"torch", "whisper", "moviepy", "PIL", "ray", "arabic_reshaper", "bidi", "wordfreq"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]):
    """(imported module, names, node) for every import in the module, relative ones resolved."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - (node.level - 1)] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            yield target, [a.name for a in node.names], node


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {m: set() for m in modules}
    for name, path in modules.items():
        for target, names, _ in _imports(name, path, modules):
            submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules]
            others = [n for n in names if f"{target}.{n}" not in modules]
            graph[name].update(submodules)
            if target in modules and (others or not names):
                graph[name].add(target)
        graph[name].discard(name)
    return graph


def test_the_import_graph_has_no_circle():
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_no_module_imports_another_modules_private_names():
    modules = _modules()
    found = []
    for name, path in modules.items():
        for target, names, node in _imports(name, path, modules):
            if target.startswith("captioner"):
                found += [f"{name}:{node.lineno} {target}.{n}" for n in names if n.startswith("_") and not n.startswith("__")]
    assert found == []


def test_optional_extras_are_imported_only_in_extras_py():
    modules = _modules()
    found = []
    for name, path in modules.items():
        if name == "captioner.extras":
            continue
        for target, names, node in _imports(name, path, modules):
            if target.split(".")[0] in EXTRA_MODULES:
                found.append(f"{name}:{node.lineno} imports {target}")
    assert found == []


def test_imports_sit_at_the_top_of_modules():
    modules = _modules()
    inside = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top:
                inside.append(f"{name}:{node.lineno}")
    # Guarded on purpose: Python 3.10's tomli fallback, the embedded model's packages (doctor reports them),
    # and fcntl's file locks, which Windows lacks.
    allowed = {"captioner.styles.presets", "captioner.asr.models", "captioner.media.outputs"}
    assert [i for i in inside if i.split(":")[0] not in allowed] == []


def test_the_cli_does_no_pipeline_work():
    """cli.py imports the API (pipeline, batch, models, doctor), never a stage's internals."""
    modules = _modules()
    allowed = {"captioner", "captioner.pipeline", "captioner.batch", "captioner.batch.run", "captioner.asr",
               "captioner.asr.models", "captioner.doctor", "captioner.errors", "captioner.progress",
               "captioner.render", "captioner.render.ffmpeg", "captioner.settings", "captioner.styles.presets",
               "captioner.version", "captioner.processes", "captioner.review"}
    used = {t for t, _, _ in _imports("captioner.cli", modules["captioner.cli"], modules) if t.startswith("captioner")}
    assert used <= allowed, used - allowed
