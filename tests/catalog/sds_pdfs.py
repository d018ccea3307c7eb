"""Safety data sheets generated for the tests with fpdf2, in several layouts and units.

Each builder returns the PDF bytes. They imitate what real SDS PDFs look like to a
text extractor: section headings, "Label : value" lines, two-column property tables,
decimal commas, ranges and qualifiers; plus the malformed files the upload must refuse.
"""

from __future__ import annotations

import functools
import io
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

_FIXED_DATE = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
_DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
_DEJAVU_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def _pdf() -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(_FIXED_DATE)  # the same sheet gives the same bytes (and sha256)
    pdf.set_auto_page_break(True, margin=15)
    if _DEJAVU.exists() and _DEJAVU_BOLD.exists():
        pdf.add_font("Body", "", str(_DEJAVU))
        pdf.add_font("Body", "B", str(_DEJAVU_BOLD))
        pdf.body_font = "Body"
    else:  # core font: latin-1 only (°, ³, ², ·, µ are in it; the en dash is not)
        pdf.body_font = "Helvetica"
    pdf.add_page()
    pdf.set_font(pdf.body_font, size=10)
    return pdf


def _text(pdf: FPDF, s: str) -> str:
    return s if pdf.body_font == "Body" else s.replace("–", "-").replace("≤", "<=")


def _heading(pdf: FPDF, text: str) -> None:
    pdf.set_font(pdf.body_font, "B", 11)
    pdf.ln(2)
    pdf.cell(0, 7, _text(pdf, text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.body_font, "", 10)


def _line(pdf: FPDF, text: str) -> None:
    pdf.cell(0, 5.5, _text(pdf, text), new_x="LMARGIN", new_y="NEXT")


def _front_matter(pdf: FPDF, product: str, heading_1: str = "SECTION 1: Identification") -> None:
    pdf.set_font(pdf.body_font, "B", 14)
    pdf.cell(0, 9, "SAFETY DATA SHEET", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.body_font, "", 10)
    _line(pdf, "according to Regulation (EC) No. 1907/2006 (REACH)")
    _heading(pdf, heading_1)
    _line(pdf, f"Product name: {product}")
    _line(pdf, "Recommended use: Aerosol base, industrial use only")
    _line(pdf, "Supplier: Example Chemicals Ltd, 1 Test Street, Testville")
    _heading(pdf, "SECTION 2: Hazards identification")
    _line(pdf, "Flammable liquid, category 3. Causes serious eye irritation.")
    for number, title in (
        (3, "Composition/information on ingredients"),
        (4, "First aid measures"),
        (5, "Firefighting measures"),
    ):
        _heading(pdf, f"SECTION {number}: {title}")
        _line(pdf, "See the label. Density of the mixture is given in section 9.")


def _back_matter(pdf: FPDF, prefix: str = "SECTION ") -> None:
    _heading(pdf, f"{prefix}10: Stability and reactivity")
    _line(pdf, "Stable under normal conditions. Decomposition temperature: 350 °C")
    _heading(pdf, f"{prefix}11: Toxicological information")
    _line(pdf, "Acute toxicity: LD50 oral rat > 2000 mg/kg")


def _out(pdf: FPDF) -> bytes:
    try:
        return bytes(pdf.output())
    finally:
        for font in pdf.fonts.values():  # fontTools keeps the .ttf open (lazy loading)
            close = getattr(font, "close", None)
            if close is not None:
                close()


@functools.cache
def text_layout_sds(product: str = "AeroBase Glycol 40") -> bytes:
    """'Label: value' lines, g/cm³, mPa·s, °C, kPa."""
    pdf = _pdf()
    _front_matter(pdf, product)
    _heading(pdf, "SECTION 9: Physical and chemical properties")
    _line(pdf, "9.1 Information on basic physical and chemical properties")
    for text in (
        "Appearance: clear colourless liquid",
        "Odour: mild",
        "pH: 7.0",
        "Melting point/freezing point: -21 °C",
        "Initial boiling point and boiling range: 104 °C",
        "Flash point: 99 °C (closed cup)",
        "Vapour pressure: 2.3 kPa at 20 °C",
        "Density: 1.036 g/cm³ at 20 °C",
        "Solubility: miscible with water",
        "Viscosity, dynamic: 3.4 mPa·s at 20 °C",
        "Explosive properties: not explosive",
    ):
        _line(pdf, text)
    _back_matter(pdf)
    return _out(pdf)


@functools.cache
def table_layout_sds(product: str = "SolvoClean 220") -> bytes:
    """A bordered two-column table: relative density, cSt, °F, hPa."""
    pdf = _pdf()
    _front_matter(pdf, product)
    _heading(pdf, "9. Physical and chemical properties")
    rows = (
        ("Property", "Value"),
        ("Physical state", "Liquid"),
        ("Colour", "Amber"),
        ("Boiling point", "356 °F"),
        ("Flash point", "140 °F (Pensky-Martens closed cup)"),
        ("Vapour pressure", "1.3 hPa at 20 °C"),
        ("Relative density", "0.85 (water = 1)"),
        ("Kinematic viscosity", "20 cSt at 40 °C"),
        ("Auto-ignition temperature", "230 °C"),
    )
    with pdf.table(col_widths=(60, 110), text_align="LEFT", first_row_as_headings=True) as table:
        for label, value in rows:
            row = table.row()
            row.cell(_text(pdf, label))
            row.cell(_text(pdf, value))
    _back_matter(pdf, prefix="")
    return _out(pdf)


@functools.cache
def decimal_comma_sds(product: str = "Émulsion Spray Base 12") -> bytes:
    """A European sheet: 'Section 9 –', decimal commas, ranges, approx./</> qualifiers."""
    pdf = _pdf()
    _front_matter(pdf, product, heading_1="Section 1 – Identification of the substance/mixture")
    _heading(pdf, "Section 9 – Physical and chemical properties")
    for text in (
        "Physical state : liquid",
        "Boiling point : approx. 78,5 °C",
        "Flash point : > 61 °C",
        "Vapour pressure : < 10 mmHg at 25 °C",
        "Density : 0,95 - 0,98 g/cm3 at 20 °C",
        "Kinematic viscosity : 10 mm²/s at 20 °C",
        "Surface tension : 28,5 mN/m at 20 °C",
    ):
        _line(pdf, text)
    _heading(pdf, "Section 10 – Stability and reactivity")
    _line(pdf, "Stable under recommended storage conditions.")
    return _out(pdf)


@functools.cache
def no_properties_sds(product: str = "Mystery Blend") -> bytes:
    """Section 9 exists but every property is 'no data available'."""
    pdf = _pdf()
    _front_matter(pdf, product)
    _heading(pdf, "SECTION 9: Physical and chemical properties")
    for text in (
        "Appearance: no data available",
        "Density: no data available",
        "Viscosity: not determined",
        "Flash point: not applicable",
    ):
        _line(pdf, text)
    _back_matter(pdf)
    return _out(pdf)


@functools.cache
def no_section_9_sds(product: str = "Half Sheet") -> bytes:
    """A text PDF with sections 1-5 only."""
    pdf = _pdf()
    _front_matter(pdf, product)
    return _out(pdf)


@functools.cache
def scanned_sds() -> bytes:
    """An image only: what a scanner produces (no text layer)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 800), "white")
    draw = ImageDraw.Draw(image)
    for y in range(60, 760, 24):
        draw.rectangle((50, y, 550, y + 10), fill=(40, 40, 40))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    buffer.seek(0)
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.image(buffer, x=10, y=10, w=190)
    return _out(pdf)


@functools.cache
def encrypted_sds() -> bytes:
    """A sheet that needs a password to open."""
    from fpdf.enums import EncryptionMethod

    pdf = _pdf()
    pdf.set_encryption(
        owner_password="owner-secret", user_password="user-secret", encryption_method=EncryptionMethod.AES_128
    )
    _front_matter(pdf, "Locked Product")
    _heading(pdf, "SECTION 9: Physical and chemical properties")
    _line(pdf, "Density: 1.00 g/cm³")
    return _out(pdf)


def corrupt_pdf() -> bytes:
    """Starts like a PDF, then garbage."""
    return b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nthis is not a pdf body\x00\x01\x02" * 5


def not_a_pdf() -> bytes:
    return b"Density: 1.0 g/cm3\nThis is a text file with a .pdf name.\n"


@functools.cache
def property_lines_sds(lines: tuple[str, ...], product: str = "Unit Check Fluid") -> bytes:
    """A sheet whose section 9 holds exactly `lines` ('Label: value unit' text lines)."""
    pdf = _pdf()
    _front_matter(pdf, product)
    _heading(pdf, "SECTION 9: Physical and chemical properties")
    for text in lines:
        _line(pdf, text)
    _back_matter(pdf)
    return _out(pdf)


@functools.cache
def property_table_sds(rows: tuple[tuple[str, str], ...], product: str = "Unit Check Table") -> bytes:
    """A sheet whose section 9 is a bordered two-column table of (label, value) `rows`."""
    pdf = _pdf()
    _front_matter(pdf, product)
    _heading(pdf, "9. Physical and chemical properties")
    with pdf.table(col_widths=(60, 110), text_align="LEFT", first_row_as_headings=True) as table:
        for label, value in (("Property", "Value"), *rows):
            row = table.row()
            row.cell(_text(pdf, label))
            row.cell(_text(pdf, value))
    _back_matter(pdf, prefix="")
    return _out(pdf)


# ---- hostile files: small on disk, expensive to read (issue 10 item 4)


def _raw_pdf(page_contents: list[bytes], *, compress: bool = True) -> bytes:
    """A minimal PDF written by hand: one Helvetica font, one page per content stream (FlateDecode)."""
    import zlib

    objects: list[bytes] = []
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(page_contents)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(page_contents)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, content in enumerate(page_contents):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {5 + 2 * i} 0 R >>".encode()
        )
        data = zlib.compress(content, 9) if compress else content
        flate = b" /Filter /FlateDecode" if compress else b""
        objects.append(b"<< /Length %d%s >>\nstream\n" % (len(data), flate) + data + b"\nendstream")
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@functools.cache
def inflation_bomb_pdf(inflated_mb: int = 50) -> bytes:
    """A page whose FlateDecode content stream is a few dozen KB and inflates to `inflated_mb` MB of
    text-showing operators: every one a character object for the text extractor (about 1 GB when read)."""
    op = b"(A) Tj "
    content = b"BT /F1 1 Tf 10 10 Td " + op * (inflated_mb * 1024 * 1024 // len(op)) + b"ET\n"
    return _raw_pdf([content])


@functools.cache
def slow_pdf(operations: int = 4_000_000) -> bytes:
    """A page of graphics-state saves and restores: nothing to keep, so little memory, but the
    interpreter works through every one of them (minutes of CPU for a small file)."""
    return _raw_pdf([b"q Q " * operations])


@functools.cache
def many_pages_pdf(pages: int = 60) -> bytes:
    """A real sheet's first page, then blank pages: more pages than a safety data sheet has."""
    first = b"BT /F1 10 Tf 50 800 Td (SAFETY DATA SHEET) Tj 0 -14 Td (SECTION 9: Physical and chemical properties) Tj "
    first += b"0 -14 Td (Density: 1.036 g/cm3 at 20 C) Tj ET\n"
    return _raw_pdf([first] + [b"BT /F1 10 Tf 50 800 Td (Page) Tj ET\n"] * (pages - 1))
