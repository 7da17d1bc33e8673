// The one path by which identifiers enter SQL text. Identifiers come from the layer registry or
// the configuration, never from a request; values are always bound as $n / ? parameters.

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/** Quotes an SQL identifier; refuses anything that is not a plain lower-case name. */
export function quoteIdent(name: string): string {
  if (!IDENT.test(name)) throw new Error(`not a safe SQL identifier: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

/** Schema-qualified table name of a registry layer. */
export const LAYER_SCHEMA = 'plan';
export const layerTable = (layerId: string) => `${quoteIdent(LAYER_SCHEMA)}.${quoteIdent(layerId)}`;
