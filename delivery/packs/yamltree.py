"""pack.yaml read as YAML: a tree of mappings and lists that remember their lines, and nothing
but text in it (see `_PackLoader` for why)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from delivery.packs.problems import PACK_FILE, PackError


class YamlMap(dict[str, Any]):
    """A mapping from pack.yaml that remembers where it and each of its keys are."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[str, int] = {}


class YamlList(list[Any]):
    """A sequence from pack.yaml that remembers the line of each item."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


class _PackLoader(yaml.SafeLoader):
    """SafeLoader whose plain scalars all stay text, except null (empty, ~, null).

    YAML 1.1 would read criterion `1.10` as the float 1.1, unit version `2.0` as 2.0 and
    `status: no` as False; here every value is the text the author wrote, and the format reads
    numbers where it wants them. Aliases are refused: nothing needs them, and they let a tiny
    file expand into an enormous tree.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not supported in a content pack", mark
            )
        return super().compose_node(parent, index)


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> YamlMap:
    result = YamlMap(node.start_mark.line + 1)
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be plain text", key_node.start_mark
            )
        key = str(key_node.value)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key {key!r} appears twice in one mapping (first at line {result.key_lines[key]})",
                key_node.start_mark,
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> YamlList:
    result = YamlList(node.start_mark.line + 1)
    for child in node.value:
        result.append(loader.construct_object(child, deep=True))
        result.item_lines.append(child.start_mark.line + 1)
    return result


# Its own resolver table (add_implicit_resolver copies the parent's unless there is one): null only.
_PackLoader.yaml_implicit_resolvers = {}
_PackLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_PackLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_PackLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def load_yaml(raw: bytes) -> Any:
    """pack.yaml's tree of YamlMap, YamlList, str and None; PackError for bad syntax."""
    loader = _PackLoader(raw)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or "not valid YAML"
        context = ""
        if exc.context and exc.context_mark and exc.context_mark is not mark:
            context = f" ({exc.context} at line {exc.context_mark.line + 1})"
        raise PackError(f"{PACK_FILE}{where}: {problem}{context}") from None
    except yaml.YAMLError as exc:
        raise PackError(f"{PACK_FILE}: not readable as YAML: {exc}") from None
    finally:
        loader.dispose()
