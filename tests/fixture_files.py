"""Real files of every format the loader reads, written in the test itself (no binary fixtures).

``make_pdf`` writes a minimal PDF whose text layer holds the given lines (any Unicode, through a
ToUnicode map), one page per list; ``make_docx`` a Word document whose paragraphs may carry Word's
automatic numbering, as a law typed in Word does.
"""

from __future__ import annotations

import io
import zlib


def make_pdf(pages: list[list[str]], compress: bool = True) -> bytes:
    """A PDF with one text line per entry; ``pages=[[]]`` gives a page with no text (a scan)."""
    chars = sorted({c for lines in pages for line in lines for c in line})
    codes: dict[str, int] = {}
    free = iter(c for c in range(33, 256) if chr(c) not in chars or not chr(c).isascii())
    for c in chars:
        codes[c] = ord(c) if c.isascii() and 32 <= ord(c) < 127 else next(free)
    cmap_lines = [f"<{code:02x}> <{ord(c):04x}>" for c, code in codes.items()]
    cmap = (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /T def /CMapType 2 def\n"
        "1 begincodespacerange <00> <ff> endcodespacerange\n"
        f"{len(cmap_lines)} beginbfchar\n" + "\n".join(cmap_lines) + "\nendbfchar\n"
        "endcmap CMapName currentdict /CMap defineresource pop end end\n"
    ).encode()
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    def stream(data: bytes) -> bytes:
        if compress:
            data = zlib.compress(data)
            return b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"
        return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"

    catalog = add(b"")  # filled below
    pages_obj = add(b"")
    tounicode = add(stream(cmap))
    font = add(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /FirstChar 0 /LastChar 255 "
        b"/Widths [" + b" ".join([b"600"] * 256) + b"] /ToUnicode %d 0 R >>" % tounicode
    )
    kids = []
    for lines in pages:
        ops = [b"BT /F1 10 Tf 12 TL 40 800 Td"]
        for line in lines:
            ops.append(b"<" + bytes(codes[c] for c in line).hex().encode() + b"> Tj T*")
        ops.append(b"ET")
        content = add(stream(b"\n".join(ops)))
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] "
                b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (pages_obj, font, content)
            )
        )
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_obj
    objects[pages_obj - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(
        b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, catalog, xref)
    )
    return out.getvalue()


def make_docx(paragraphs: list[tuple[str, str | None]]) -> bytes:
    """A .docx of (text, kind) paragraphs; kind "article", "clause" or "point" numbers a paragraph with
    Word's automatic numbering ("Điều 1.", "1.", "a)"), so the numbers are not in its text."""
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    # One numbering definition: level 0 "1.", level 1 "a)", restarted under each article.
    numbering = document.part.numbering_part.element
    abstract = OxmlElement("w:abstractNum")
    abstract.set(qn("w:abstractNumId"), "90")
    for ilvl, (fmt, text) in enumerate([("decimal", "%1."), ("lowerLetter", "%2)")]):
        lvl = OxmlElement("w:lvl")
        lvl.set(qn("w:ilvl"), str(ilvl))
        for tag, val in (("w:start", "1"), ("w:numFmt", fmt), ("w:lvlText", text)):
            el = OxmlElement(tag)
            el.set(qn("w:val"), val)
            lvl.append(el)
        abstract.append(lvl)
    numbering.insert(0, abstract)
    # Article headings numbered by Word too: "Điều %1." running through the whole law.
    articles = OxmlElement("w:abstractNum")
    articles.set(qn("w:abstractNumId"), "91")
    lvl = OxmlElement("w:lvl")
    lvl.set(qn("w:ilvl"), "0")
    for tag, val in (("w:start", "1"), ("w:numFmt", "decimal"), ("w:lvlText", "Điều %1.")):
        el = OxmlElement(tag)
        el.set(qn("w:val"), val)
        lvl.append(el)
    articles.append(lvl)
    numbering.insert(1, articles)
    article_num = OxmlElement("w:num")
    article_num.set(qn("w:numId"), "99")
    ref = OxmlElement("w:abstractNumId")
    ref.set(qn("w:val"), "91")
    article_num.append(ref)
    numbering.append(article_num)
    next_id = [100]

    def new_num() -> str:
        next_id[0] += 1
        num = OxmlElement("w:num")
        num.set(qn("w:numId"), str(next_id[0]))
        ref = OxmlElement("w:abstractNumId")
        ref.set(qn("w:val"), "90")
        num.append(ref)
        numbering.append(num)
        return str(next_id[0])

    current = new_num()
    for text, kind in paragraphs:
        p = document.add_paragraph(text)
        if kind is None or kind == "article":
            # An article heading restarts the clause numbering, as Word's "restart numbering" does.
            current = new_num()
            if kind is None:
                continue
        ppr = p._p.get_or_add_pPr()
        numpr = OxmlElement("w:numPr")
        ilvl = OxmlElement("w:ilvl")
        ilvl.set(qn("w:val"), "1" if kind == "point" else "0")
        numid = OxmlElement("w:numId")
        numid.set(qn("w:val"), "99" if kind == "article" else current)
        numpr.append(ilvl)
        numpr.append(numid)
        ppr.append(numpr)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()
