// A fetch that also trusts extra CA certificates (`client.ca_certificates`); each runtime spells it
// differently. NODE_EXTRA_CA_CERTS and the HTTP(S)_PROXY / NO_PROXY variables are honoured by both
// runtimes' own fetch already.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { rootCertificates } from "node:tls";
import { RestloadError } from "../errors.ts";

/** undefined when no extra certificates are configured (the global fetch is used). */
export function runtimeFetch(caFile: string | undefined, baseDir: string): typeof fetch | undefined {
  if (caFile === undefined) return undefined;
  const path = resolve(baseDir, caFile);
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (error) {
    throw new RestloadError("E_CONFIG", `Cannot read client.ca_certificates ${path}: ${(error as Error).message}`, {
      hint: "Give the path of a PEM file, relative to the pipeline file.",
      context: { file: path },
    });
  }
  if (typeof Bun !== "undefined") {
    const ca = [...rootCertificates, pem];
    return ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, { ...init, tls: { ca } } as RequestInit)) as typeof fetch;
  }
  const deno = (globalThis as { Deno?: { createHttpClient(options: { caCerts: string[] }): unknown } }).Deno;
  if (deno) {
    const client = deno.createHttpClient({ caCerts: [pem] });
    return ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, { ...init, client } as RequestInit)) as typeof fetch;
  }
  return undefined;
}
