"""Open Badges 3.0 "baking": the signed credential carried inside a badge image, put in and read
back out. The images themselves are drawn by `credentials.badge`.

A pure module: no models, no settings, no network. Follows OB 3.0 section 5.3 (Baked Badges):

- PNG: one `iTXt` chunk, keyword `openbadgecredential`, compression flag 0 (uncompressed),
  empty language tag and translated keyword, the credential's JSON as UTF-8 text, before IEND.
  Baking again replaces the chunk; there is never more than one.
- SVG: `xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"` on the root `<svg>`, and an
  `<openbadges:credential>` element, first child of the root, with the JSON in CDATA.

The credential text is embedded exactly as given (the stored, signed JSON), never re-serialised.

`unbake` reads what strangers upload, so it trusts nothing: a size cap, CRCs checked, no
decompression without a bound, and SVGs with a DOCTYPE (and so entity definitions) refused
before any XML parser sees them. Every failure is a `BakingError` whose message can be shown to
the person who uploaded the file.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal
from xml.etree import ElementTree as ET

from credentials import jsontext

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_KEYWORD = b"openbadgecredential"
OB2_PNG_KEYWORD = b"openbadges"
SVG_NS = "http://www.w3.org/2000/svg"
OB_NS = "https://purl.imsglobal.org/ob/v3p0"
OB2_NS = "http://openbadges.org"
SVG_PREFIX = "openbadges"

# An uploaded badge is a few hundred kilobytes; anything far larger is refused unread.
MAX_IMAGE_BYTES = 5 * 1024 * 1024


class BakingError(ValueError):
    """Baking or unbaking failed; `str(error)` is a message for the person who gave the file."""


class NotABadgeImage(BakingError):
    """The bytes are neither a PNG nor an SVG image."""


class CorruptImage(BakingError):
    """A PNG or SVG that cannot be read safely (truncated, bad CRC, malformed, DOCTYPE)."""


class NoBakedCredential(BakingError):
    """A readable image that carries no Open Badges 3.0 credential."""


# --- PNG ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chunk:
    type: bytes
    body: bytes
    raw: bytes  # length + type + body + CRC, exactly as read


def _png_chunks(data: bytes) -> Iterator[_Chunk]:
    """The chunks of a PNG up to and including IEND, each CRC-checked; CorruptImage otherwise."""
    if not data.startswith(PNG_SIGNATURE):
        raise NotABadgeImage("This file is not a PNG image.")
    position = len(PNG_SIGNATURE)
    first = True
    while True:
        if position + 8 > len(data):
            raise CorruptImage("This PNG image is truncated: it ends before its last chunk.")
        length, chunk_type = struct.unpack(">I4s", data[position : position + 8])
        end = position + 12 + length
        if length > 0x7FFFFFFF or end > len(data):
            raise CorruptImage(
                "This PNG image is truncated or damaged (a chunk runs past the end)."
            )
        body = data[position + 8 : end - 4]
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(chunk_type + body) != crc:
            raise CorruptImage("This PNG image is damaged (a chunk fails its CRC check).")
        if first and chunk_type != b"IHDR":
            raise CorruptImage("This PNG image is damaged (it does not start with IHDR).")
        first = False
        yield _Chunk(chunk_type, body, data[position:end])
        position = end
        if chunk_type == b"IEND":
            return


def _make_chunk(chunk_type: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body))
        + chunk_type
        + body
        + struct.pack(">I", zlib.crc32(chunk_type + body))
    )


def _text_chunk_keyword(chunk: _Chunk) -> bytes | None:
    if chunk.type not in {b"iTXt", b"tEXt", b"zTXt"}:
        return None
    return chunk.body.split(b"\0", 1)[0]


def credential_itxt_chunk(credential_json: str) -> bytes:
    """The `iTXt` chunk that carries `credential_json`, uncompressed, per OB 3.0."""
    body = (
        PNG_KEYWORD
        + b"\0"  # keyword terminator
        + b"\0"  # compression flag: uncompressed
        + b"\0"  # compression method
        + b"\0"  # empty language tag, terminated
        + b"\0"  # empty translated keyword, terminated
        + credential_json.encode("utf-8")
    )
    return _make_chunk(b"iTXt", body)


def bake_png(image_png: bytes, credential_json: str) -> bytes:
    """`image_png` with `credential_json` baked in: exactly one `openbadgecredential` iTXt chunk,
    placed before IEND; any credential baked earlier is removed. Raises `BakingError` for an
    image that is not a valid PNG."""
    chunks = list(_png_chunks(image_png))
    if chunks[-1].type != b"IEND":  # pragma: no cover - _png_chunks stops only at IEND
        raise CorruptImage("This PNG image has no IEND chunk.")
    kept = [chunk.raw for chunk in chunks[:-1] if _text_chunk_keyword(chunk) != PNG_KEYWORD]
    return b"".join([PNG_SIGNATURE, *kept, credential_itxt_chunk(credential_json), chunks[-1].raw])


def _itxt_text(body: bytes, *, max_bytes: int) -> bytes:
    """The text of an iTXt chunk body (keyword, flags, language, translated keyword, text)."""
    try:
        _keyword, rest = body.split(b"\0", 1)
        compressed, method, rest = rest[0], rest[1], rest[2:]
        _language, rest = rest.split(b"\0", 1)
        _translated, text = rest.split(b"\0", 1)
    except (ValueError, IndexError):
        raise CorruptImage("The credential chunk of this PNG image is malformed.") from None
    if not compressed:
        return text
    # OB 3.0 bakes uncompressed; a compressed chunk from another baker is read with a bound.
    if method != 0:
        raise CorruptImage("The credential chunk of this PNG image uses an unknown compression.")
    decompressor = zlib.decompressobj()
    try:
        inflated = decompressor.decompress(text, max_bytes)
    except zlib.error:
        raise CorruptImage("The credential chunk of this PNG image is damaged.") from None
    if decompressor.unconsumed_tail:
        raise BakingError("The credential baked into this image is too large.")
    return inflated


def _unbake_png(data: bytes, *, max_bytes: int) -> bytes:
    found: list[bytes] = []
    ob2 = False
    for chunk in _png_chunks(data):
        keyword = _text_chunk_keyword(chunk)
        if keyword == PNG_KEYWORD:
            if chunk.type != b"iTXt":
                raise CorruptImage(
                    "This PNG image carries its credential in a tEXt or zTXt chunk; "
                    "Open Badges 3.0 requires an iTXt chunk."
                )
            found.append(_itxt_text(chunk.body, max_bytes=max_bytes))
        elif keyword == OB2_PNG_KEYWORD:
            ob2 = True
    if len(found) > 1:
        raise CorruptImage(
            "This PNG image carries more than one baked credential, so none can be trusted."
        )
    if not found:
        if ob2:
            raise NoBakedCredential(
                "This image carries an Open Badges 2.0 assertion, not an Open Badges 3.0 "
                "credential."
            )
        raise NoBakedCredential("This PNG image has no Open Badges credential baked into it.")
    return found[0]


# --- SVG ----------------------------------------------------------------------------------------

_DOCTYPE_OR_ENTITY = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
# Characters XML 1.0 cannot carry, even in CDATA.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_CREDENTIAL_START = f"<{SVG_PREFIX}:credential"
_CREDENTIAL_END = f"</{SVG_PREFIX}:credential>"


def _parse_svg(text: str) -> ET.Element:
    """The root of an SVG document, parsed without DTDs: a DOCTYPE could define entities (the
    "billion laughs") or pull in external files, so any is refused before parsing."""
    if _DOCTYPE_OR_ENTITY.search(text):
        raise CorruptImage(
            "This SVG image declares a DOCTYPE or entities, which are refused for safety."
        )
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DOCTYPE, so no entities to expand
    except ET.ParseError as error:
        raise CorruptImage(f"This SVG image is not well-formed XML ({error}).") from None
    if root.tag != f"{{{SVG_NS}}}svg":
        raise NotABadgeImage("This XML file is not an SVG image.")
    return root


def _skip_markup(text: str, position: int) -> int:
    """The index after a comment, processing instruction or CDATA section at `position`."""
    for start, end in (("<!--", "-->"), ("<?", "?>"), ("<![CDATA[", "]]>")):
        if text.startswith(start, position):
            close = text.find(end, position + len(start))
            if close < 0:
                raise CorruptImage("This SVG image is not well-formed XML.")
            return close + len(end)
    return position


def _start_tag_end(text: str, position: int) -> int:
    """The index of the `>` closing the start tag that begins at `position` (quotes respected)."""
    quote = ""
    for index in range(position, len(text)):
        char = text[index]
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == ">":
            return index
    raise CorruptImage("This SVG image is not well-formed XML.")


def _root_start_tag(text: str) -> tuple[int, int]:
    """(start, end) of the root element's start tag: `text[start:end + 1]` is `<svg ...>`."""
    position = 0
    while True:
        position = text.find("<", position)
        if position < 0:
            raise CorruptImage("This SVG image has no root element.")
        skipped = _skip_markup(text, position)
        if skipped != position:
            position = skipped
            continue
        return position, _start_tag_end(text, position)


def _cdata(text: str) -> str:
    # "]]>" cannot appear inside CDATA: end the section after "]]" and start a new one before
    # ">". An XML parser joins the sections, so readers get the text back unchanged.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _remove_our_credential(text: str, content_start: int) -> str:
    """`text` without an `<openbadges:credential>` element starting at `content_start` (after
    whitespace), as a previous `bake_svg` wrote it."""
    position = content_start
    while position < len(text) and text[position].isspace():
        position += 1
    if not text.startswith(_CREDENTIAL_START, position):
        return text
    tag_end = _start_tag_end(text, position)
    if text[tag_end - 1] == "/":
        return text[:position] + text[tag_end + 1 :]
    cursor = tag_end + 1
    while cursor < len(text):
        if text.startswith(_CREDENTIAL_END, cursor):
            return text[:position] + text[cursor + len(_CREDENTIAL_END) :]
        skipped = _skip_markup(text, cursor)
        cursor = skipped if skipped != cursor else cursor + 1
    raise CorruptImage("This SVG image is not well-formed XML.")


def bake_svg(svg_text: str, credential_json: str) -> str:
    """`svg_text` with `credential_json` baked in per OB 3.0: the `openbadges` namespace on the
    root, and an `<openbadges:credential>` first child holding the JSON in CDATA. A credential
    baked earlier by us is replaced. Raises `BakingError` for an SVG we cannot bake safely."""
    if _NOT_XML_CHAR.search(credential_json):
        raise BakingError("The credential contains characters that XML cannot carry.")
    root = _parse_svg(svg_text)
    start, end = _root_start_tag(svg_text)
    start_tag = svg_text[start : end + 1]
    self_closing = svg_text[end - 1] == "/"
    if root.find(f"{{{OB_NS}}}credential") is not None:
        svg_text = _remove_our_credential(svg_text, end + 1)
        if _parse_svg(svg_text).find(f"{{{OB_NS}}}credential") is not None:
            raise BakingError("This SVG image already carries a credential that we cannot replace.")
    declaration = f'xmlns:{SVG_PREFIX}="{OB_NS}"'
    if f"xmlns:{SVG_PREFIX}=" in start_tag:
        if declaration not in start_tag.replace("'", '"'):
            raise BakingError(
                f"This SVG image uses the prefix {SVG_PREFIX!r} for another namespace."
            )
        new_start_tag = start_tag
    else:
        cut = len(start_tag) - (2 if self_closing else 1)
        new_start_tag = f"{start_tag[:cut].rstrip()} {declaration}{start_tag[cut:]}"
    element = f"<{SVG_PREFIX}:credential>{_cdata(credential_json)}</{SVG_PREFIX}:credential>"
    if self_closing:
        new_start_tag = new_start_tag[:-2].rstrip() + ">"
        return svg_text[:start] + new_start_tag + element + "</svg>" + svg_text[end + 1 :]
    return svg_text[:start] + new_start_tag + element + svg_text[end + 1 :]


def _unbake_svg(text: str) -> str:
    root = _parse_svg(text)
    elements = [child for child in root if child.tag == f"{{{OB_NS}}}credential"]
    if len(elements) > 1:
        raise CorruptImage(
            "This SVG image carries more than one baked credential, so none can be trusted."
        )
    if not elements:
        if root.find(f"{{{OB2_NS}}}assertion") is not None:
            raise NoBakedCredential(
                "This image carries an Open Badges 2.0 assertion, not an Open Badges 3.0 "
                "credential."
            )
        raise NoBakedCredential("This SVG image has no Open Badges credential baked into it.")
    element = elements[0]
    if element.get("verify"):
        raise BakingError(
            "This image carries a credential signed as a JWT (VC-JWT); only credentials with "
            "an embedded proof are supported."
        )
    return "".join(element.itertext())


# --- unbaking -----------------------------------------------------------------------------------

_OTHER_FORMATS = (
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
)
_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$")


def _describe(data: bytes) -> str:
    for magic, name in _OTHER_FORMATS:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP image"
    return "not an image we can read"


def unbake(data: bytes, *, max_bytes: int = MAX_IMAGE_BYTES) -> str:
    """The credential JSON text baked into a PNG or SVG image, as embedded (surrounding
    whitespace aside).

    Raises `NotABadgeImage` (neither PNG nor SVG), `CorruptImage` (damaged, or unsafe XML),
    `NoBakedCredential` (nothing baked in) or `BakingError` (too large, not UTF-8, not JSON, a
    URL or a JWT instead of an embedded credential), each with a message for the uploader.
    """
    if len(data) > max_bytes:
        raise BakingError(
            f"This file is too large ({len(data):,} bytes); the limit is {max_bytes:,} bytes."
        )
    if data.startswith(PNG_SIGNATURE):
        raw = _unbake_png(data, max_bytes=max_bytes)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BakingError("The credential baked into this image is not valid UTF-8.") from None
    else:
        try:
            document = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            if data.lstrip(b" \t\r\n").startswith(b"<"):
                raise CorruptImage("This SVG image is not encoded as UTF-8.") from None
            raise NotABadgeImage(
                f"This file is {_describe(data)}: badges are baked only into PNG or SVG images."
            ) from None
        if not document.lstrip().startswith("<"):
            raise NotABadgeImage(
                "This file is not a PNG or SVG image: badges are baked only into PNG or SVG."
            )
        text = _unbake_svg(document)
    return _check_credential_text(text)


def _check_credential_text(text: str) -> str:
    stripped = text.strip()
    if not stripped:
        raise NoBakedCredential("The credential baked into this image is empty.")
    if stripped.startswith(("http://", "https://")):
        raise BakingError(
            "This image links to a credential at a URL instead of carrying it; only embedded "
            "credentials are supported."
        )
    if _JWS.match(stripped):
        raise BakingError(
            "This image carries a credential signed as a JWT (VC-JWT); only credentials with "
            "an embedded proof are supported."
        )
    try:
        jsontext.loads(stripped)
    except jsontext.TooDeep as exc:
        raise BakingError(f"The credential baked into this image is refused: {exc}.") from None
    except ValueError:
        raise BakingError("The credential baked into this image is not valid JSON.") from None
    return stripped


def image_kind(data: bytes) -> Literal["png", "svg"] | None:
    """The image's kind by its content, not its name: "png", "svg", or None for neither."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    return "svg" if head.startswith(b"<") and b"<svg" in data[:4096] else None
