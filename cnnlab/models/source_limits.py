"""Limits on network source text, so hostile input gets a short, clear refusal.

``ast.parse`` itself raises RecursionError or MemoryError on deeply nested input
(100,000 unary minus signs, a ``1+1+...`` chain), and the parser's own walk recurses
once per nesting level; a megabyte-long bad string would otherwise be echoed back in
full. :func:`parse_limited` checks the size before parsing, turns the parser's own
failures into ModelSpecError, and measures depth and node count of the tree without
recursion. :func:`short` truncates every user value an error message quotes.
"""

from __future__ import annotations

import ast

from cnnlab.errors import ModelSpecError

MAX_SOURCE_CHARS = 20_000  # a 60-layer network with comments is about 4,000
MAX_DEPTH = 100  # nesting of the syntax tree (nested Sequentials, arithmetic, tuples)
MAX_NODES = 20_000
ECHO_CHARS = 60  # at most this much of a user value appears in a message


def short(value: object, limit: int = ECHO_CHARS) -> str:
    """``str(value)`` cut to ``limit`` characters, ending in "…" when cut."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_limited(source: str) -> ast.Module:
    """``ast.parse(source)`` within the limits above; SyntaxError passes through."""
    if len(source) > MAX_SOURCE_CHARS:
        raise ModelSpecError(
            f"the source is {len(source):,} characters; the limit is {MAX_SOURCE_CHARS:,}: "
            "write the network as nn.Sequential(...) with one layer per line"
        )
    try:
        tree = ast.parse(source)
    except (RecursionError, MemoryError):
        raise _too_deep() from None
    depth, nodes = _measure(tree)
    if depth > MAX_DEPTH:
        raise _too_deep()
    if nodes > MAX_NODES:
        raise ModelSpecError(
            f"the source has more than {MAX_NODES:,} syntax elements: write fewer layers "
            "or simpler arguments"
        )
    return tree


def excerpt_line(line: str, col: int, width: int = 80) -> tuple[str, int]:
    """A window of at most ``width`` characters of ``line`` around ``col``, and the new col."""
    if len(line) <= width:
        return line, col
    start = max(0, min(col - width // 2, len(line) - width))
    text = line[start : start + width]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(line) else ""
    return prefix + text + suffix, col - start + len(prefix)


def _too_deep() -> ModelSpecError:
    return ModelSpecError(
        f"the source is nested more than {MAX_DEPTH} levels deep (brackets, signs or "
        "arithmetic): write each number as a plain literal such as 32*7*7"
    )


def _measure(tree: ast.AST) -> tuple[int, int]:
    """(depth, node count) of ``tree``, walked with an explicit stack, not recursion."""
    deepest, count = 0, 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH or count > MAX_NODES:
            break
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest, count
