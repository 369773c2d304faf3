// TOML paths for messages: `resources[1].endpoint.paginator.type`, `client.headers."X-Api-Key"`.

export type PathKey = string | number;

/** Joins keys as a TOML path; keys that are not bare TOML keys are quoted. */
export function formatPath(keys: readonly PathKey[]): string {
  let out = "";
  for (const key of keys) {
    if (typeof key === "number") out += `[${key}]`;
    else out += (out ? "." : "") + (/^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key));
  }
  return out;
}
