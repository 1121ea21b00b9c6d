"""The GUI's translatable strings and the ``i18n/*.ts`` files that translate them.

Every GUI module has ``TR_CONTEXT = "..."`` and calls ``tr("literal")``. ``lupdate`` of Qt 5 does
not read Python, so this reads the modules with ``ast``; run it to add new strings to a ``.ts``
(existing translations are kept, strings gone from the code are dropped):

    .venv/bin/python tests/translations.py i18n/ls4_es.ts
"""

import ast
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = sorted((REPO / "ls4_plugin" / "gui").glob("*.py")) + [REPO / "ls4_plugin" / "plugin.py"]


def module_strings(path):
    """``[(context, text)]`` of the ``tr("…")`` calls in one module, in order."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    context = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "TR_CONTEXT":
            context = node.value.value
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", "") == "tr"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.append((context, node.args[0].value))
    return found


def source_strings(paths=SOURCES):
    """``{context: [text, …]}`` of every GUI string, each once, in order of appearance."""
    strings = {}
    for path in paths:
        for context, text in module_strings(path):
            texts = strings.setdefault(context, [])
            if text not in texts:
                texts.append(text)
    return strings


def read_ts(path):
    """``{(context, source): translation}`` of a ``.ts`` file."""
    root = ET.parse(path).getroot()
    found = {}
    for context in root.iter("context"):
        name = context.findtext("name")
        for message in context.iter("message"):
            found[(name, message.findtext("source"))] = message.findtext("translation") or ""
    return found


def write_ts(path, language, strings, translations):
    root = ET.Element("TS", version="2.1", language=language)
    for context, texts in sorted(strings.items()):
        node = ET.SubElement(root, "context")
        ET.SubElement(node, "name").text = context
        for text in texts:
            message = ET.SubElement(node, "message")
            ET.SubElement(message, "source").text = text
            translation = translations.get((context, text), "")
            element = ET.SubElement(message, "translation")
            element.text = translation
            if not translation:
                element.set("type", "unfinished")
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    Path(path).write_text(
        f'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n{body}\n', encoding="utf-8"
    )


def update(path):
    path = Path(path)
    language = path.stem.split("_", 1)[1]
    old = read_ts(path) if path.exists() else {}
    write_ts(path, language, source_strings(), old)


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        update(argument)
