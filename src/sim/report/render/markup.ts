import type { RunColumn } from "./comparison.ts";

/** Small HTML pieces shared by the report's sections. Pure. */

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const h = escapeHtml;

export function swatch(colour: string): string {
  return `<span class="swatch" style="--c:${h(colour)}"></span>`;
}

export function runName(col: RunColumn): string {
  return `<span class="run">${swatch(col.colour)}${h(col.label)}</span>`;
}

export function names(cols: readonly RunColumn[]): string {
  const parts = cols.map((c) => `<strong>${h(c.label)}</strong>`);
  return parts.length <= 2 ? parts.join(" and ") : `${parts.slice(0, -1).join(", ")} and ${parts.at(-1)}`;
}
