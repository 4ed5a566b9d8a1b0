import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

/**
 * A Vega-Lite spec → an SVG string, headless: vega's scenegraph without a canvas or a DOM
 * (text widths are estimated), nothing loaded from anywhere (the data is inline).
 * Warnings from Vega-Lite and Vega are collected and returned, never printed.
 */
export async function specToSvg(spec: TopLevelSpec, id: string): Promise<{ svg: string; warnings: string[] }> {
  const warnings: string[] = [];
  const logger = vega.logger(vega.Warn, undefined, (_method, level, args) => {
    warnings.push(`${id}: ${level} ${args.map(String).join(" ")}`);
  });
  const compiled = compile(spec, { logger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none", logger });
  try {
    return { svg: scopeSvgIds(await view.toSVG(), id), warnings };
  } finally {
    view.finalize();
  }
}

/**
 * Prefix every id an SVG defines (clip paths, gradients) and every reference to it, so several
 * SVGs inlined in one page cannot collide; also marks the root with `data-chart`.
 */
export function scopeSvgIds(svg: string, id: string): string {
  const safe = id.replace(/[^A-Za-z0-9_-]/g, "_");
  return svg
    .replace(/\bid="([^"]+)"/g, (_m, v: string) => `id="${safe}-${v}"`)
    .replace(/url\(#([^)]+)\)/g, (_m, v: string) => `url(#${safe}-${v})`)
    .replace(/(xlink:)?href="#([^"]+)"/g, (_m, x: string | undefined, v: string) => `${x ?? ""}href="#${safe}-${v}"`)
    .replace(/^<svg\b/, `<svg data-chart="${safe}"`);
}
