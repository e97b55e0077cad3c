"""Rebuild ``leo-cjk.woff``: the Chinese glyphs the app shows, cut from Noto Sans CJK SC (SIL OFL 1.1, ``OFL.txt``).

    apt-get install fonts-noto-cjk          # Debian: the full font (about 20 MB per weight)
    .venv/bin/pip install fonttools          # in requirements-test.txt
    .venv/bin/python leo_app/static/fonts/build_font.py

The subset holds every character of the Chinese catalog (``leo_core/locales/zh``) and the CJK punctuation,
so a chart or a page in Chinese draws with the app's own font, offline (the browser needs no CJK font of its
own). Run it again after adding translations: ``tests/test_i18n.py`` fails on a translated character the
font lacks. About 0.4 MB for ~1,500 characters (woff, zlib: fontTools writes it with the standard library).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from leo_core.i18n import catalog_files  # noqa: E402

SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
FACE = "Noto Sans CJK SC"
OUT = Path(__file__).resolve().parent / "leo-cjk.woff"
EXTRA = "，。、：；！？（）《》「」【】％＋－＝＜＞０１２３４５６７８９"
CJK = 0x2E80  # from here on: CJK radicals, punctuation, ideographs, full-width forms (Latin keeps its own font)


def characters() -> str:
    """Every CJK character of the Chinese catalog's translations, and common punctuation."""
    from babel.messages.pofile import read_po

    chars = set(EXTRA)
    for path in catalog_files("zh"):
        with path.open("rb") as f:
            for message in read_po(f):
                strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
                chars.update(c for s in strings if s for c in s if ord(c) >= CJK)
    return "".join(sorted(chars))


def main() -> None:
    from fontTools import subset
    from fontTools.ttLib import TTCollection

    collection = TTCollection(str(SOURCE))
    font = next(f for f in collection.fonts if FACE in str(f["name"].getDebugName(4)))
    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    text = characters()
    subsetter.populate(text=text)
    subsetter.subset(font)
    font.flavor = "woff"
    font.save(str(OUT))
    print(f"{len(text)} characters → {OUT} ({OUT.stat().st_size / 1024:.0f} kB)")


if __name__ == "__main__":
    main()
