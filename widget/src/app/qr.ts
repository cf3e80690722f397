/**
 * A QR code as an SVG element built with the DOM (no markup, no image URL): @paulmillr/qr makes
 * the modules, one path draws the dark ones.
 */

import encodeQR from "@paulmillr/qr";

const SVG = "http://www.w3.org/2000/svg";

/** The path data of the dark modules of `grid`, shifted by `quiet` modules. */
export function qrPath(grid: readonly (readonly boolean[])[], quiet: number): string {
  const parts: string[] = [];
  grid.forEach((row, y) => row.forEach((dark, x) => {
    if (dark) parts.push(`M${x + quiet} ${y + quiet}h1v1h-1z`);
  }));
  return parts.join("");
}

/** An SVG of the QR code of `text`, labelled `label`. */
export function qrSvg(text: string, label: string): SVGSVGElement {
  const grid = encodeQR(text, "raw", { ecc: "low", border: 0 });
  const quiet = 4;
  const size = grid.length + 2 * quiet;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  svg.setAttribute("class", "qr");
  const bg = document.createElementNS(SVG, "rect");
  bg.setAttribute("width", String(size));
  bg.setAttribute("height", String(size));
  bg.setAttribute("fill", "#fff");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", qrPath(grid, quiet));
  path.setAttribute("fill", "#000");
  svg.append(bg, path);
  return svg;
}
