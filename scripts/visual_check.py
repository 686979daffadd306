"""The report as a reader sees it: the HTML in headless Chromium, the PDF through pdftoppm, as PNGs.

    python scripts/visual_check.py [--out DIR] [--quick] [--only ID …] [--chromium PATH]

Runs the claims, writes ``DIR/index.html`` and ``DIR/report.pdf`` (default ``reports/visual``), then:

1. the checks of the test suite (``verify.report.checks``): no formula shown as LaTeX source, every
   figure present, every claim laid out, the PDF within its page budget;
2. the HTML in headless Chromium at 1280 and 800 pixels wide: a script in a copy of the page measures
   whether anything is wider than the page or cut inside a scrolling box (a table, a formula, a
   figure), and reports the claim it belongs to (``--dump-dom``); full-page screenshots go to
   ``DIR/visual/html-<width>-NN.png`` in tiles 2000 pixels high;
3. each PDF page through ``pdftoppm`` to ``DIR/visual/pdf-NN.png``, and their count against the layout.

Needs ``chromium`` and ``pdftoppm`` (Debian: ``apt-get install -y chromium poppler-utils``); CI has
neither, so this runs as ``tox -e visual``, not in the test suite. Exit status 0 when every check
passes, 1 otherwise; look at the PNGs as well.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--mute-audio", "--virtual-time-budget=20000"]
WIDTHS = (1280, 800)
TILE = 2000

# Measures, after layout, every element wider than the page and every box whose content is cut or
# hidden behind a scrollbar; writes the result as JSON into <pre id="visual-result">.
_PROBE = """
<script>
window.addEventListener("load", () => {
  const page = document.documentElement;
  const problems = [], scrolling = [];
  const where = (el) => { const a = el.closest("article, .erratum, section"); return a ? a.id : "page"; };
  if (page.scrollWidth > page.clientWidth + 1)
    problems.push(`the page is ${page.scrollWidth - page.clientWidth}px wider than the window`);
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > page.clientWidth + 1 && !el.parentElement.closest(".table-wrap"))
      problems.push(`${el.tagName.toLowerCase()}.${el.className.baseVal ?? el.className} in ${where(el)} ` +
                    `ends ${Math.round(box.right - page.clientWidth)}px past the window`);
    const style = getComputedStyle(el);
    if (!["auto", "scroll", "hidden", "clip"].includes(style.overflowX) || el.scrollWidth <= el.clientWidth + 1)
      continue;
    // a table too wide for a narrow window may scroll inside its box, if the scrollbar is drawn
    const scrollbar = el.offsetHeight - el.clientHeight - parseFloat(style.borderTopWidth || 0)
                      - parseFloat(style.borderBottomWidth || 0);
    if (el.classList.contains("table-wrap") && ["auto", "scroll"].includes(style.overflowX) && scrollbar > 0)
      scrolling.push(`${where(el)}: ${el.scrollWidth - el.clientWidth}px behind a scrollbar`);
    else
      problems.push(`${el.tagName.toLowerCase()}.${el.className} in ${where(el)} hides ` +
                    `${el.scrollWidth - el.clientWidth}px of its content`);
  }
  const figures = document.querySelectorAll("figure.claim-figure svg").length;
  const fallbacks = document.querySelectorAll("code.latex").length;
  const out = document.createElement("pre");
  out.id = "visual-result";
  out.textContent = JSON.stringify({problems: problems.slice(0, 50), count: problems.length, scrolling,
                                    height: page.scrollHeight, figures, fallbacks});
  document.body.appendChild(out);
});
</script>
"""


def _chromium(path: str | None) -> str:
    exe = path or shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if exe is None:
        sys.exit("visual_check: chromium not found (apt-get install -y chromium), or pass --chromium PATH")
    return exe


def _probe(chromium: str, html_path: str, width: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        probed = os.path.join(tmp, "probed.html")
        with open(html_path, encoding="utf-8") as handle:
            html = handle.read()
        with open(probed, "w", encoding="utf-8") as handle:
            handle.write(html.replace("</body>", _PROBE + "</body>"))
        dom = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--window-size={width},1000", "--dump-dom",
                              f"file://{probed}"], capture_output=True, text=True, timeout=300).stdout
    match = re.search(r'<pre id="visual-result">(.*?)</pre>', dom, re.DOTALL)
    if match is None:
        return {"problems": ["the probe script did not run (no result in the DOM)"], "count": 1, "height": 0}
    from html import unescape

    return json.loads(unescape(match.group(1)))


_BROKEN = """<!DOCTYPE html><html><body><article id="claim-wide"><div style="width: 3000px">too wide</div></article>
<article id="claim-cut"><div style="overflow: hidden; width: 120px"><span style="white-space: nowrap">a line that
does not fit in its box and is cut</span></div></article><figure class="claim-figure"><svg></svg></figure>
<code class="latex">\\frac{a</code></body></html>"""


def _probe_catches_problems(chromium: str) -> list[str]:
    """The probe on a page with known faults must find each of them (a check that cannot fail is none)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "broken.html")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(_BROKEN)
        seen = _probe(chromium, path, 800)
    found = " ".join(seen["problems"])
    missed = [what for what, needle in (("a page too wide", "wider than the window"),
                                         ("an element past the window", "in claim-wide ends"),
                                         ("content cut by its box", "in claim-cut hides"))
              if needle not in found]
    if seen.get("figures") != 1 or seen.get("fallbacks") != 1:
        missed.append("the figure or the LaTeX fallback of the broken page")
    return [f"the probe missed {what} on a page made to have it" for what in missed]


def _screenshots(chromium: str, html_path: str, width: int, height: int, folder: str) -> list[str]:
    from PIL import Image

    full = os.path.join(folder, f"html-{width}.png")
    subprocess.run([chromium, *CHROMIUM_FLAGS, f"--window-size={width},{height}", f"--screenshot={full}",
                    f"file://{os.path.abspath(html_path)}"], capture_output=True, timeout=300, check=True)
    tiles = []
    with Image.open(full) as image:
        for k, top in enumerate(range(0, image.height, TILE)):
            tile = os.path.join(folder, f"html-{width}-{k:02d}.png")
            image.crop((0, top, image.width, min(top + TILE, image.height))).save(tile)
            tiles.append(tile)
    os.remove(full)
    return tiles


def _pdf_pages(pdf_path: str, folder: str) -> list[str]:
    exe = shutil.which("pdftoppm")
    if exe is None:
        sys.exit("visual_check: pdftoppm not found (apt-get install -y poppler-utils)")
    subprocess.run([exe, "-r", "60", "-png", pdf_path, os.path.join(folder, "pdf")], check=True, timeout=300)
    return sorted(glob.glob(os.path.join(folder, "pdf-*.png")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("reports", "visual"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="+", metavar="ID")
    parser.add_argument("--chromium", help="the browser to use (default: chromium on the PATH)")
    args = parser.parse_args(argv)
    chromium = _chromium(args.chromium)
    probe_faults = _probe_catches_problems(chromium)

    import matplotlib

    matplotlib.use("Agg")
    from verify.claims.registry import Context, all_claims
    from verify.report import build_report, write_html, write_pdf
    from verify.report.checks import html_problems, pdf_problems

    os.makedirs(args.out, exist_ok=True)
    folder = os.path.join(args.out, "visual")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    report = build_report(all_claims(args.only), Context(quick=args.quick))
    html_path, pdf_path = os.path.join(args.out, "index.html"), os.path.join(args.out, "report.pdf")
    write_html(report, html_path)
    layout = write_pdf(report, pdf_path)
    with open(html_path, encoding="utf-8") as handle:
        problems = probe_faults + html_problems(report, handle.read())
    problems += pdf_problems(report, layout, max_pages=10**6) if args.only else pdf_problems(report, layout)

    figures = sum(1 for f in report.figures.values() if f.present)
    for width in WIDTHS:
        seen = _probe(chromium, html_path, width)
        problems += [f"HTML at {width}px: {p}" for p in seen["problems"]]
        if seen.get("count", 0) > len(seen["problems"]):
            problems.append(f"HTML at {width}px: {seen['count'] - len(seen['problems'])} more")
        if seen.get("figures", figures) != figures:
            problems.append(f"HTML at {width}px: {seen.get('figures')} figures drawn, {figures} expected")
        if seen.get("fallbacks"):
            problems.append(f"HTML at {width}px: {seen['fallbacks']} formulas shown as LaTeX source")
        tiles = _screenshots(chromium, html_path, width, max(seen.get("height", 0), 1000), folder)
        print(f"HTML at {width}px: page {seen.get('height')}px high, {len(tiles)} tiles in {folder}; "
              f"{len(seen.get('scrolling', []))} tables scroll inside their box (scrollbar drawn)")
        for note in seen.get("scrolling", []):
            print(f"  scrolls: {note}")
    pages = _pdf_pages(pdf_path, folder)
    if len(pages) != layout.pages:
        problems.append(f"pdftoppm rendered {len(pages)} pages, the layout has {layout.pages}")
    print(f"PDF: {layout.pages} pages, {len(layout.figures)} figures, rendered to {folder}/pdf-NN.png")
    for p in problems:
        print("PROBLEM:", p)
    print("visual check:", "passed" if not problems else f"{len(problems)} problems")
    return 0 if not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
