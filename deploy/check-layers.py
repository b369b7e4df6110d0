#!/usr/bin/env python3
"""Keeps the workspace's module imports pointing one way.

For every crate of the workspace, builds the graph of its modules (one node per file)
from the paths the code names (`use crate::a::b`, `crate::a::b::f()`, `super::x`), and
fails on any import circle. For the gateway it also checks the layers of
docs/architecture.md: settings -> core -> edge (access, client_error, client_addr,
state, http, ws) -> startup; a module never imports a later layer, and `http` and `ws`
never import each other.

Usage: deploy/check-layers.py [ROOT]   (exit status 1 on a violation)
"""

import re
import sys
from pathlib import Path

ROOT = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)

# The gateway's layers, lowest first: a module may import its own layer and lower ones.
GATEWAY_LAYERS = [
    ("settings",),
    ("core",),
    ("access", "client_error", "client_addr", "state"),
    ("http", "ws"),
    ("startup",),
]
# Edge modules that must not import each other.
GATEWAY_APART = ("http", "ws")

PATH = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+|::\{)")
USE_GROUP = re.compile(r"\buse\s+(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*)\};", re.S)
COMMENT = re.compile(r"//[^\n]*")


def module_of(src: Path, file: Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def crates(root: Path):
    for manifest in sorted(root.glob("**/Cargo.toml")):
        if "target" in manifest.parts or "node_modules" in manifest.parts:
            continue
        src = manifest.parent / "src"
        if src.is_dir():
            yield manifest.parent, src


def group_paths(inner: str):
    """The paths named in the braces of a grouped use (nested groups flattened)."""
    depth, current, out = 0, "", []
    for ch in inner:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        out.append(current.strip())
    paths = []
    for item in out:
        head = item.split("::{", 1)[0]
        paths.append(tuple(p for p in head.split("::") if p and p not in ("self", "*")))
    return paths


def references(text: str, here: tuple, is_dir_module: bool):
    """Absolute module paths (tuples) named in `text` by a file whose module is `here`."""
    text = COMMENT.sub("", text)
    base_super = here[:-1] if not is_dir_module else here[:-1]
    refs = []

    def resolve(anchor, rest):
        if anchor == "crate":
            return tuple(rest)
        # `super` is the parent of the file's module.
        parent = list(here[:-1])
        while rest and rest[0] == "super":
            parent = parent[:-1]
            rest = rest[1:]
        return tuple(parent) + tuple(rest)

    for match in USE_GROUP.finditer(text):
        anchor, prefix, inner = match.groups()
        prefix_parts = [p for p in prefix.split("::") if p]
        for path in group_paths(inner):
            refs.append(resolve(anchor, prefix_parts + list(path)))
    for match in PATH.finditer(text):
        anchor, rest = match.groups()
        if rest == "::{":
            continue
        refs.append(resolve(anchor, [p for p in rest.split("::") if p]))
    return refs


def longest_module(path: tuple, modules: set):
    for n in range(len(path), 0, -1):
        if path[:n] in modules:
            return path[:n]
    return None


def find_cycles(graph: dict):
    index, low, stack, on_stack, out, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            strong(v)
    return out


def layer_of(module: tuple):
    for rank, names in enumerate(GATEWAY_LAYERS):
        if module and module[0] in names:
            return rank
    return None


def main() -> int:
    problems = []
    for crate, src in crates(ROOT):
        files = sorted(src.rglob("*.rs"))
        modules = {module_of(src, f): f for f in files}
        graph = {}
        for module, file in modules.items():
            is_dir = file.stem in ("mod", "lib", "main")
            targets = set()
            for ref in references(file.read_text(), module if not is_dir else module + ("_",), is_dir):
                target = longest_module(ref, set(modules))
                # A module naming its own ancestors (e.g. `super::Item` of its parent) is
                # a child using its parent's items: not an import of a sibling.
                if target is None or target == module or module[: len(target)] == target:
                    continue
                targets.add(target)
            # A module imported by name and used through it (`use super::cmd;` then
            # `cmd::send::run()`) is an import of the submodule named.
            text = COMMENT.sub("", file.read_text())
            for target in list(targets):
                for sub in re.findall(rf"\b{re.escape(target[-1])}::([a-z_][a-z0-9_]*)", text):
                    child = target + (sub,)
                    if child in modules and child != module and module[: len(child)] != child:
                        targets.add(child)
            graph[module] = targets
        name = crate.relative_to(ROOT)
        for cycle in find_cycles(graph):
            problems.append(f"{name}: import circle: " + " <-> ".join("::".join(m) or "crate" for m in cycle))
        if crate.name == "gateway" and crate.parent.name == "services":
            for module, targets in graph.items():
                here = layer_of(module)
                for target in targets:
                    there = layer_of(target)
                    if here is not None and there is not None and there > here:
                        problems.append(
                            f"{name}: {'::'.join(module)} imports {'::'.join(target)}, a later layer"
                        )
                    if (
                        module and target and module[0] in GATEWAY_APART
                        and target[0] in GATEWAY_APART and module[0] != target[0]
                    ):
                        problems.append(
                            f"{name}: {'::'.join(module)} imports {'::'.join(target)}: edges stay apart"
                        )
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"module imports point one way ({sum(1 for _ in crates(ROOT))} crates checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
