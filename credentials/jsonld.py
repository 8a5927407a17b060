"""JSON-LD processing for credentials, with every context served from files in the project.

A verifier that fetches `@context` URLs at run time can be made to sign or accept a different
meaning for the same JSON (the context decides what each term means), and it stops working when
a context host is down. So the loader here knows exactly the contexts we issue with, reads them
from `credentials/contexts/`, and refuses every other URL without touching the network.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from cachetools import LRUCache
from pyld import jsonld
from pyld.context_resolver import ContextResolver

CONTEXTS_DIR = Path(__file__).resolve().parent / "contexts"

VC_V2_CONTEXT_URL = "https://www.w3.org/ns/credentials/v2"
OB_V3P0_CONTEXT_URL = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_V3P0_EXTENSIONS_URL = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
CLR_V2P0_CONTEXT_URL = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"

# The only URLs the loader answers, and the file each is read from. See contexts/README.md.
CONTEXT_FILES: dict[str, str] = {
    VC_V2_CONTEXT_URL: "credentials-v2.json",
    OB_V3P0_CONTEXT_URL: "ob-v3p0-context-3.0.3.json",
    OB_V3P0_EXTENSIONS_URL: "ob-v3p0-extensions.json",
    CLR_V2P0_CONTEXT_URL: "clr-v2p0-context-2.0.1.json",
}

CANONIZE_OPTIONS: dict[str, str] = {"algorithm": "URDNA2015", "format": "application/n-quads"}


class ContextNotAllowedError(Exception):
    """A document asked for a context URL that is not one of the files we serve."""

    def __init__(self, url: str) -> None:
        super().__init__(f"JSON-LD context not allowed (only local contexts are loaded): {url}")
        self.url = url


@cache
def _context_text(url: str) -> str:
    # Read once per process; callers get a freshly parsed copy so no one can mutate ours.
    return (CONTEXTS_DIR / CONTEXT_FILES[url]).read_text(encoding="utf-8")


# The objects of the context documents last handed to pyld, by id, per URL: the inline
# contexts inside them (the OB context's type- and property-scoped ones) are the only ones
# _Resolver finds by identity. A document the caller passes in may be changed between two
# calls; these are never changed, and a context held here cannot share an id with another.
_static_objects: dict[str, dict[int, Any]] = {}


def _static(url: str, document: Any) -> Any:
    objects: dict[int, Any] = {}
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            objects[id(node)] = node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    _static_objects[url] = objects
    return document


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the remote-document dict pyld expects for an allowed context URL, else raise.

    Raises `ContextNotAllowedError` for anything else: other hosts, other paths, `file:` URLs.
    pyld wraps it in a `JsonLdError` whose cause chain keeps it.
    """
    if url not in CONTEXT_FILES:
        raise ContextNotAllowedError(url)
    return {
        "contextUrl": None,
        "documentUrl": url,
        "contentType": "application/ld+json",
        "document": _static(url, json.loads(_context_text(url))),
        # pyld keeps a resolved context across operations only when its loader tags it
        # "static"; ours are fixed files, so each is parsed and processed once per process.
        "tag": "static",
    }


# Our own resolved-context cache rather than pyld's module-wide one, so a context that another
# loader resolved elsewhere in the process can never be used here. Bounded because documents
# may carry inline contexts of their own, each of which is cached by its content. It holds the
# three fixed contexts (tagged "static" above) with their processed forms: measured with
# `python bench/run.py issue`, reading and processing them for every credential was a third of
# the time to issue one (sign_slowdown ~470x bare Ed25519 before, ~330x after, loaded machine).
_resolved_contexts: LRUCache[Any, Any] = LRUCache(maxsize=256)


class _Resolver(ContextResolver):
    """pyld's resolver, which keys an inline context by its JSON Canonicalization, and so
    re-serialises each type- and property-scoped context of the OB context every time a node
    of that type or property is met: a fifth of canonicalising a credential in cProfile. The
    scoped contexts of our own context files are found by identity instead (see
    _static_objects); the 1EdTech "complete" vector (tests/credentials/vectors/) then takes
    18.9 ms of CPU instead of 22.4 (median of 30 each way, same process, same N-Quads)."""

    def __init__(self) -> None:
        super().__init__(_resolved_contexts, document_loader)

    def resolve(self, active_ctx: Any, context: Any, base: Any, cycles: Any = None) -> Any:
        if isinstance(context, dict) and any(
            id(context) in o for o in tuple(_static_objects.values())
        ):
            held = _scoped_contexts.get(id(context))
            if held is not None and held[0] is context:
                return held[1]
            resolved = super().resolve(active_ctx, context, base, cycles)
            _scoped_contexts[id(context)] = (context, resolved)  # holding it keeps its id its own
            return resolved
        return super().resolve(active_ctx, context, base, cycles)


_scoped_contexts: LRUCache[int, tuple[Any, Any]] = LRUCache(maxsize=256)


def _options() -> dict[str, Any]:
    return {
        **CANONIZE_OPTIONS,
        "documentLoader": document_loader,
        "contextResolver": _Resolver(),
    }


def canonize(document: dict[str, Any]) -> str:
    """RDF Dataset Canonicalization (RDFC-1.0 / URDNA2015) of `document` as N-Quads.

    Raises `pyld.jsonld.JsonLdError` if the document is not valid JSON-LD or names a context
    outside `CONTEXT_FILES`.
    """
    result = jsonld.normalize(document, _options())
    if not isinstance(result, str):  # pragma: no cover - pyld returns str for this format
        raise TypeError("pyld did not return N-Quads")
    return result


def disallowed_context_in(error: BaseException) -> ContextNotAllowedError | None:
    """The `ContextNotAllowedError` somewhere in `error`'s cause chain, if any.

    pyld wraps loader errors several levels deep; callers use this to report the refused URL
    rather than a generic JSON-LD failure.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ContextNotAllowedError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
