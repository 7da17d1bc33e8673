// Areas as Chinese surveys report them: ellipsoidal m², 公顷 (ha, 10,000 m²) and 亩 (mu, 10,000/15 m²).

export const M2_PER_HA = 10_000;
export const M2_PER_MU = 10_000 / 15;

/** area_m2, area_ha and area_mu (null when the feature has no area). */
export function areaFigures(areaM2: number | null) {
  if (areaM2 === null) return { area_m2: null, area_ha: null, area_mu: null };
  return { area_m2: round(areaM2, 2), area_ha: round(areaM2 / M2_PER_HA, 4), area_mu: round(areaM2 / M2_PER_MU, 2) };
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
