// Areas as Chinese surveys report them: square metres, 公顷 (hectare = 10 000 m²) and 亩 (mu = 10 000/15 m²).

/** m² in one 公顷 (hectare). */
export const M2_PER_HA = 10_000;
/** m² in one 亩 (mu): 10 000 / 15 ≈ 666.67. */
export const M2_PER_MU = 10_000 / 15;

/** Hectares of an area in m². */
export function m2ToHa(m2: number): number {
  return m2 / M2_PER_HA;
}

/** Mu of an area in m² (m² · 15 / 10 000). */
export function m2ToMu(m2: number): number {
  return (m2 * 15) / 10_000;
}

/** Formats a number with thousands separators and a fixed number of decimals. */
export function formatNumber(value: number, decimals: number, locale: string): string {
  return value.toLocaleString(locale, { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}
