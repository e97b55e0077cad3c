"""Rebuild ``omniglot.npz``, the compact Omniglot copy the ``omniglot`` family reads.

Usage (no network; from the original Omniglot files, which are MIT-licensed)::

    python -m leo_core.data.build_omniglot --background images_background.zip \\
        --runs all_runs.zip --out leo_core/data/omniglot.npz

``--background`` is the original ``images_background.zip`` (``Alphabet/characterNN/NNNN_DD.png``,
black ink on white), or a folder or zip of ``NNNN_DD.png`` files in any layout, drawn as ink on
transparent (the copy of the background set kept by the interactive MAML explainer). ``NNNN`` is the
character's number in the background set (1-964), ``DD`` the drawer (1-20). ``--alphabets`` names
zips whose paths carry the alphabet of each file (``images_background_small1.zip`` and ``_small2.zip``
name 8 alphabets; the full ``images_background.zip`` names all 30, and is read for names by default).
``--runs`` is Lake et al.'s ``all_runs.zip`` (20 one-shot runs of 20 ways on evaluation alphabets).

Every image is reduced from 105×105 to 28×28 by area averaging (``PIL`` box filter) and stored as
uint8 ink (255 = ink, 0 = paper). The file holds:

- ``images [964, 20, 28, 28]``: character c (number c + 1) by drawer;
- ``alphabet [964]``: index into ``alphabet_names`` (-1 where no input named the alphabet);
- ``runs_train [20, 20, 28, 28]`` (``training/classNN.png``), ``runs_test [20, 20, 28, 28]``
  (``test/itemNN.png``) and ``runs_answer [20, 20]`` (the training class of each test item, 0-based).
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np

SIDE = 28
N_CHARACTERS = 964
N_DRAWERS = 20
_NAME = re.compile(r"(\d{4})_(\d{2})\.png$")


def _files(source: Path) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of every PNG in a folder or zip."""
    if source.is_dir():
        for p in sorted(source.rglob("*.png")):
            yield str(p.relative_to(source)), p.read_bytes()
    else:
        with zipfile.ZipFile(source) as z:
            for name in sorted(z.namelist()):
                if name.endswith(".png"):
                    yield name, z.read(name)


def ink_28(png: bytes) -> np.ndarray:
    """A 105×105 Omniglot PNG as 28×28 uint8 ink: the alpha channel where the image has one
    (ink on transparent), else 255 minus the grey level (black ink on white)."""
    from PIL import Image

    img = Image.open(io.BytesIO(png))
    ink = img.getchannel("A") if "A" in img.getbands() else Image.eval(img.convert("L"), lambda v: 255 - v)
    return np.asarray(ink.resize((SIDE, SIDE), Image.Resampling.BOX), dtype=np.uint8)


def read_background(source: Path) -> np.ndarray:
    images = np.zeros((N_CHARACTERS, N_DRAWERS, SIDE, SIDE), dtype=np.uint8)
    seen = np.zeros((N_CHARACTERS, N_DRAWERS), dtype=bool)
    for name, data in _files(source):
        m = _NAME.search(name)
        if not m:
            continue
        c, d = int(m.group(1)) - 1, int(m.group(2)) - 1
        if 0 <= c < N_CHARACTERS and 0 <= d < N_DRAWERS:
            images[c, d] = ink_28(data)
            seen[c, d] = True
    if not seen.all():
        missing = np.argwhere(~seen)[:3] + 1
        raise SystemExit(f"{source}: {int((~seen).sum())} of the background set's images are missing, e.g. "
                         + ", ".join(f"{c:04d}_{d:02d}.png" for c, d in missing))
    return images


def read_alphabets(sources: list[Path]) -> tuple[np.ndarray, list[str]]:
    """Each character's alphabet from paths ``…/Alphabet/characterNN/NNNN_DD.png``."""
    names: list[str] = []
    alphabet = np.full(N_CHARACTERS, -1, dtype=np.int8)
    for source in sources:
        with zipfile.ZipFile(source) as z:
            for path in z.namelist():
                parts = path.split("/")
                m = _NAME.search(path)
                if not m or len(parts) < 3:
                    continue
                name = parts[-3]
                if name not in names:
                    names.append(name)
                alphabet[int(m.group(1)) - 1] = names.index(name)
    order = sorted(names)  # indices by name, so the file does not depend on the order of the inputs
    remap = np.array([order.index(n) for n in names] + [-1], dtype=np.int8)
    return remap[alphabet], order


def read_runs(source: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    train = np.zeros((20, 20, SIDE, SIDE), dtype=np.uint8)
    test = np.zeros_like(train)
    answer = np.full((20, 20), -1, dtype=np.int8)
    with zipfile.ZipFile(source) as z:
        for r in range(20):
            for i in range(20):
                train[r, i] = ink_28(z.read(f"run{r + 1:02d}/training/class{i + 1:02d}.png"))
                test[r, i] = ink_28(z.read(f"run{r + 1:02d}/test/item{i + 1:02d}.png"))
            for line in z.read(f"run{r + 1:02d}/class_labels.txt").decode().split("\n"):
                if line.strip():
                    item, cls = line.split()
                    answer[r, int(item[-6:-4]) - 1] = int(cls[-6:-4]) - 1
    if (answer < 0).any():
        raise SystemExit(f"{source}: a run's class_labels.txt does not answer every test item")
    return train, test, answer


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--background", type=Path, required=True, help="images_background.zip, or a folder/zip of NNNN_DD.png")
    p.add_argument("--alphabets", type=Path, nargs="*", default=None,
                   help="zips naming alphabets in their paths (default: --background when it is a zip)")
    p.add_argument("--runs", type=Path, required=True, help="all_runs.zip (Lake et al.'s one-shot runs)")
    p.add_argument("--out", type=Path, default=Path(__file__).with_name("omniglot.npz"))
    args = p.parse_args(argv)
    alphabet_sources = args.alphabets if args.alphabets is not None else (
        [args.background] if args.background.suffix == ".zip" else [])
    images = read_background(args.background)
    alphabet, names = read_alphabets(alphabet_sources)
    runs_train, runs_test, runs_answer = read_runs(args.runs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out, images=images, alphabet=alphabet, alphabet_names=np.array(json.dumps(names)),
        runs_train=runs_train, runs_test=runs_test, runs_answer=runs_answer,
    )
    print(f"{args.out}: {images.shape[0]} characters x {images.shape[1]} drawers, "
          f"{int((alphabet >= 0).sum())} in {len(names)} named alphabets, 20 one-shot runs; "
          f"{args.out.stat().st_size / 1e6:.1f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
