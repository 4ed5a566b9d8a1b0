/**
 * Colours for runs: the Okabe–Ito palette (distinguishable with the common colour-vision
 * deficiencies), minus its yellow, which is too light on white. Each known preset keeps its colour
 * in every report, so two reports can be compared side by side; other names take what is left.
 */

export const OKABE_ITO = {
  blue: "#0072B2",
  orange: "#E69F00",
  green: "#009E73",
  vermillion: "#D55E00",
  purple: "#CC79A7",
  sky: "#56B4E9",
  black: "#1F1F1F",
} as const;

const PRESET_COLOURS: Readonly<Record<string, string>> = {
  reference: OKABE_ITO.black,
  hyperliquid: OKABE_ITO.green,
  binance: OKABE_ITO.orange,
  bybit: OKABE_ITO.purple,
  okx: OKABE_ITO.sky,
  bitmex: OKABE_ITO.vermillion,
  deribit: OKABE_ITO.blue,
};

/** Used after the palette runs out (more than seven runs): darker tints, still distinct in hue. */
const EXTRA = ["#7F3C8D", "#11A579", "#3969AC", "#F2B701", "#E73F74", "#80BA5A", "#E68310", "#008695"];

/** One colour per label, in order: known presets first take their own, the others the unused ones. */
export function runColours(labels: readonly string[], presets: readonly string[]): string[] {
  const used = new Set<string>();
  const out: (string | undefined)[] = labels.map((_, i) => {
    const c = PRESET_COLOURS[presets[i] ?? ""];
    if (c === undefined || used.has(c)) return undefined;
    used.add(c);
    return c;
  });
  const free = [...Object.values(OKABE_ITO), ...EXTRA].filter((c) => !used.has(c));
  let next = 0;
  return out.map((c) => c ?? free[next++ % free.length]!);
}
