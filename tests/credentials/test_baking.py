"""Baked badges (OB 3.0 section 5.3): the signed credential inside a PNG or SVG, byte for byte,
readable by an independent reader (tests/credentials/node/unbake.mjs), and uploads that are not
baked badges refused with a message a person can act on."""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
import time
import zlib
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from PIL import Image

from credentials.badge import FONTS_DIR, badge_png, badge_svg
from credentials.baking import (
    OB_NS,
    PNG_KEYWORD,
    PNG_SIGNATURE,
    SVG_NS,
    BakingError,
    CorruptImage,
    NoBakedCredential,
    NotABadgeImage,
    bake_png,
    bake_svg,
    image_kind,
    unbake,
)
from credentials.models import Credential
from tests.conftest import need_service
from tests.credentials.helpers import issued, verify_independently

NODE_DIR = Path(__file__).resolve().parent / "node"
# Non-ASCII, a CDATA terminator and markup: everything an embedding could get wrong.
DOCUMENT = json.dumps(
    {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "name": "Première aide ]]> <openbadges:credential> & </svg>",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
    },
    ensure_ascii=False,
    separators=(",", ":"),
)


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, body) of every chunk, with each CRC checked: a reader independent of baking.py."""
    assert png.startswith(PNG_SIGNATURE)
    found, position = [], 8
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        chunk_type = png[position + 4 : position + 8]
        body = png[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", png[position + 8 + length : position + 12 + length])
        assert zlib.crc32(chunk_type + body) == crc, chunk_type
        found.append((chunk_type, body))
        position += 12 + length
    return found


def credential_chunks(png: bytes) -> list[bytes]:
    return [
        body
        for chunk_type, body in chunks(png)
        if chunk_type in {b"iTXt", b"tEXt", b"zTXt"} and body.startswith(PNG_KEYWORD + b"\0")
    ]


def png_with(*extra: tuple[bytes, bytes]) -> bytes:
    """A small PNG with `extra` chunks inserted before IEND."""
    output = io.BytesIO()
    Image.new("RGB", (4, 4), "#1f5f8b").save(output, format="PNG")
    plain = output.getvalue()
    inserted = b"".join(
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        for kind, body in extra
    )
    return plain[:-12] + inserted + plain[-12:]


def itxt(
    text: bytes, *, compressed: bool = False, keyword: bytes = PNG_KEYWORD
) -> tuple[bytes, bytes]:
    flag = b"\1\0" if compressed else b"\0\0"
    return b"iTXt", keyword + b"\0" + flag + b"\0\0" + (zlib.compress(text) if compressed else text)


# --- PNG ----------------------------------------------------------------------------------------


def test_it_bakes_one_uncompressed_itxt_chunk_before_iend() -> None:
    baked = bake_png(badge_png("Provide first aid", "HLTAID011"), DOCUMENT)

    all_chunks = chunks(baked)
    assert [body for _, body in all_chunks if body.startswith(PNG_KEYWORD + b"\0")] == [
        credential_chunks(baked)[0]
    ]
    (chunk_type, body), (last_type, _) = all_chunks[-2], all_chunks[-1]
    assert (chunk_type, last_type) == (b"iTXt", b"IEND")
    keyword, rest = body.split(b"\0", 1)
    assert keyword == b"openbadgecredential"
    assert rest[:2] == b"\0\0"  # compression flag 0, compression method 0
    language, translated, text = rest[2:].split(b"\0", 2)
    assert (language, translated) == (b"", b"")
    assert text == DOCUMENT.encode("utf-8")


def test_it_round_trips_a_png() -> None:
    baked = bake_png(badge_png("Provide first aid", "HLTAID011"), DOCUMENT)

    assert unbake(baked) == DOCUMENT
    assert image_kind(baked) == "png"


def test_baking_again_replaces_the_credential() -> None:
    once = bake_png(badge_png("Provide first aid", "HLTAID011"), DOCUMENT)
    other = json.dumps({"name": "another credential"})

    twice = bake_png(once, other)

    assert len(credential_chunks(twice)) == 1
    assert unbake(twice) == other


def test_baking_removes_credentials_in_other_text_chunks() -> None:
    image = png_with((b"tEXt", PNG_KEYWORD + b"\0{}"), itxt(b'{"old": 1}'))

    baked = bake_png(image, DOCUMENT)

    assert len(credential_chunks(baked)) == 1
    assert unbake(baked) == DOCUMENT


def test_the_baked_png_is_the_same_picture() -> None:
    original = badge_png("Provide first aid", "HLTAID011")

    baked = bake_png(original, DOCUMENT)

    with Image.open(io.BytesIO(baked)) as image:
        image.verify()  # Pillow checks the chunks' CRCs
    with Image.open(io.BytesIO(baked)) as image, Image.open(io.BytesIO(original)) as before:
        assert image.size == (512, 512)
        assert image.tobytes() == before.tobytes()
        assert image.text["openbadgecredential"] == DOCUMENT


def test_it_refuses_to_bake_what_is_not_a_png() -> None:
    with pytest.raises(NotABadgeImage):
        bake_png(b"GIF89a" + bytes(20), DOCUMENT)
    with pytest.raises(CorruptImage):
        bake_png(badge_png("Provide first aid", "HLTAID011")[:-20], DOCUMENT)


# --- SVG ----------------------------------------------------------------------------------------


def test_it_bakes_an_svg_as_the_spec_says() -> None:
    baked = bake_svg(badge_svg("Provide first aid", "HLTAID011"), DOCUMENT)

    root = ET.fromstring(baked)  # noqa: S314 - our own output
    assert root.tag == f"{{{SVG_NS}}}svg"
    assert root[0].tag == f"{{{OB_NS}}}credential"
    assert root[0].text == DOCUMENT
    start_tag = baked[: baked.index(">") + 1]
    assert 'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"' in start_tag
    assert "<openbadges:credential><![CDATA[" in baked
    assert unbake(baked.encode()) == DOCUMENT
    assert image_kind(baked.encode()) == "svg"


def test_baking_an_svg_again_replaces_the_credential() -> None:
    other = json.dumps({"name": "another credential"})

    twice = bake_svg(bake_svg(badge_svg("Provide first aid", "HLTAID011"), DOCUMENT), other)

    root = ET.fromstring(twice)  # noqa: S314 - our own output
    assert len(root.findall(f"{{{OB_NS}}}credential")) == 1
    assert twice.count("xmlns:openbadges=") == 1
    assert unbake(twice.encode()) == other


def test_it_bakes_svgs_of_other_shapes() -> None:
    declared = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!-- a comment with <svg> in it -->\n'
        f'<svg xmlns="{SVG_NS}" data-note="a > b" xmlns:openbadges="{OB_NS}"><rect/></svg>'
    )
    empty = f"<svg xmlns='{SVG_NS}'/>"

    for svg in (declared, empty):
        baked = bake_svg(svg, DOCUMENT)
        assert ET.fromstring(baked)[0].text == DOCUMENT  # noqa: S314 - our own output
        assert unbake(baked.encode()) == DOCUMENT


def test_it_refuses_to_bake_a_foreign_prefix() -> None:
    svg = f'<svg xmlns="{SVG_NS}" xmlns:openbadges="http://openbadges.org"/>'

    with pytest.raises(BakingError, match="prefix"):
        bake_svg(svg, DOCUMENT)


# --- unbaking what strangers upload -------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (bytes(range(256)) * 8, NotABadgeImage, "PNG or SVG"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64), NotABadgeImage, "JPEG"),
        (b"%PDF-1.7\n", NotABadgeImage, "PNG or SVG"),
        (b'{"not": "an image"}', NotABadgeImage, "PNG or SVG"),
        (PNG_SIGNATURE + b"\x00\x00\x00\x0dIHDR", CorruptImage, "truncated"),
        (png_with(), NoBakedCredential, "no Open Badges credential"),
        (png_with(itxt(b"\xff\xfe not utf-8")), BakingError, "UTF-8"),
        (png_with(itxt(b"not json at all")), BakingError, "not valid JSON"),
        (png_with(itxt(b"https://example.org/credentials/1")), BakingError, "URL"),
        (png_with(itxt(b"eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln")), BakingError, "JWT"),
        (png_with(itxt(b"{}"), itxt(b"{}")), CorruptImage, "more than one"),
        (png_with((b"tEXt", b"openbadges\0https://example.org/a")), NoBakedCredential, "2.0"),
        (f'<svg xmlns="{SVG_NS}"><rect/></svg>'.encode(), NoBakedCredential, "SVG"),
        (b"<svg><unclosed></svg>", CorruptImage, "well-formed"),
        (b"<html><body>hello</body></html>", NotABadgeImage, "not an SVG"),
        (f'<svg xmlns="{SVG_NS}">\xe9</svg>'.encode("latin-1"), CorruptImage, "UTF-8"),
    ],
    ids=[
        "random bytes", "jpeg", "pdf", "json", "truncated png", "png without credential",
        "not utf-8", "not json", "url", "jwt", "two credentials", "open badges 2.0",
        "svg without credential", "malformed svg", "html", "latin-1 svg",
    ],
)  # fmt: skip
def test_it_explains_what_it_cannot_unbake(data: bytes, error: type, message: str) -> None:
    with pytest.raises(error, match=message) as raised:
        unbake(data)

    assert isinstance(raised.value, BakingError)


def test_it_refuses_a_png_with_a_damaged_chunk() -> None:
    baked = bytearray(bake_png(badge_png("Provide first aid", "HLTAID011"), DOCUMENT))
    baked[-30] ^= 0xFF  # inside the credential's text: its CRC no longer matches

    with pytest.raises(CorruptImage, match="CRC"):
        unbake(bytes(baked))


def test_it_refuses_an_entity_bomb_without_expanding_it() -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE svg [\n<!ENTITY a "aaaaaaaaaa">\n'
        + "".join(
            f'<!ENTITY {n} "{("&" + p + ";") * 10}">\n'
            for p, n in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + f']>\n<svg xmlns="{SVG_NS}" xmlns:openbadges="{OB_NS}">'
        "<openbadges:credential>&i;</openbadges:credential></svg>"
    )
    external = f'<!DOCTYPE svg SYSTEM "file:///etc/passwd"><svg xmlns="{SVG_NS}"></svg>'
    started = time.monotonic()

    for svg in (bomb, external):
        with pytest.raises(CorruptImage, match="DOCTYPE"):
            unbake(svg.encode())
        with pytest.raises(CorruptImage, match="DOCTYPE"):
            bake_svg(svg, DOCUMENT)

    assert time.monotonic() - started < 1


def test_it_refuses_a_huge_upload_unread() -> None:
    huge = bake_png(badge_png("Provide first aid", "HLTAID011"), "{" + " " * 6_000_000 + "}")

    with pytest.raises(BakingError, match="too large"):
        unbake(huge)
    with pytest.raises(BakingError, match="too large"):
        unbake(b"<svg" + b" " * 6_000_000 + b"/>")


def test_it_reads_a_compressed_chunk_but_not_a_decompression_bomb() -> None:
    assert unbake(png_with(itxt(b'{"a": 1}', compressed=True))) == '{"a": 1}'

    bomb = png_with(itxt(b"{" + b" " * 50_000_000 + b"}", compressed=True))
    assert len(bomb) < 100_000
    with pytest.raises(BakingError, match="too large"):
        unbake(bomb)


# --- the badge image ----------------------------------------------------------------------------


def test_it_draws_a_512_pixel_badge_with_the_bundled_fonts() -> None:
    png = badge_png(
        "Provide cardiopulmonary resuscitation in an education and care setting", "HLTAID009",
        provider_name="Flipside Training", label="Competent",
    )  # fmt: skip

    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.size == (512, 512)
        assert image.mode == "RGBA"
        assert image.getpixel((2, 2))[3] == 0  # transparent outside the seal
        assert image.getpixel((256, 256))[3] == 255
    assert (FONTS_DIR / "DejaVuSans-Bold.ttf").is_file()
    assert "Bitstream Vera" in (FONTS_DIR / "LICENSE-DejaVu.txt").read_text()


def test_the_svg_badge_escapes_its_text() -> None:
    svg = badge_svg('Work <script>alert("x")</script> safely', "BSB&1", provider_name="A & B")

    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert root.get("width") == "512"
    texts = ["".join(element.itertext()) for element in root.iter(f"{{{SVG_NS}}}text")]
    assert "BSB&1" in texts
    assert "A & B" in texts
    assert not list(root.iter(f"{{{SVG_NS}}}script"))


# --- an issued credential -----------------------------------------------------------------------


@pytest.fixture
def credential(learner: Any, unit: Any, cohort: Any, assessor: Any) -> Credential:
    return issued(learner, unit, cohort, assessor)


def baked_files(credential: Credential, folder: Path) -> dict[str, Path]:
    achievement = credential.achievement
    files = {
        "png": folder / "badge.png",
        "svg": folder / "badge.svg",
        "json": folder / "credential.json",
    }
    files["png"].write_bytes(
        bake_png(badge_png(achievement.name, achievement.human_code), credential.document)
    )
    files["svg"].write_text(
        bake_svg(badge_svg(achievement.name, achievement.human_code), credential.document),
        encoding="utf-8",
    )
    files["json"].write_text(credential.document, encoding="utf-8")
    return files


def test_it_bakes_the_stored_document_verbatim(credential: Credential, tmp_path: Path) -> None:
    files = baked_files(credential, tmp_path)

    assert unbake(files["png"].read_bytes()) == credential.document
    assert unbake(files["svg"].read_bytes()) == credential.document


def node_unbake(*paths: Path) -> list[Any]:
    node = shutil.which("node")
    if node is None:
        need_service("needs node to run tests/credentials/node/unbake.mjs")
    script = (
        f"import {{credentialFromFile}} from {json.dumps((NODE_DIR / 'unbake.mjs').as_uri())};"
        "console.log(JSON.stringify(process.argv.slice(1).map(credentialFromFile)));"
    )
    completed = subprocess.run(
        [str(node), "--input-type=module", "-e", script, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    result: list[Any] = json.loads(completed.stdout)
    return result


def test_an_independent_reader_unbakes_what_we_bake(credential: Credential, tmp_path: Path) -> None:
    files = baked_files(credential, tmp_path)

    read = node_unbake(files["png"], files["svg"], files["json"])

    assert read == [json.loads(credential.document)] * 3


def test_an_independent_reader_unbakes_the_awkward_cases(tmp_path: Path) -> None:
    png = tmp_path / "awkward.png"
    png.write_bytes(bake_png(bake_png(badge_png("First aid", "HLTAID011"), "{}"), DOCUMENT))
    svg = tmp_path / "awkward.svg"
    svg.write_text(bake_svg(badge_svg("First aid", "HLTAID011"), DOCUMENT), encoding="utf-8")

    assert node_unbake(png, svg) == [json.loads(DOCUMENT)] * 2


def test_digital_bazaars_verifier_accepts_the_baked_badges(
    credential: Credential, tmp_path: Path
) -> None:
    files = baked_files(credential, tmp_path)

    for baked in (files["png"], files["svg"]):
        returncode, output = verify_independently(baked, tmp_path)

        assert returncode == 0, output
        assert output["verified"] is True
