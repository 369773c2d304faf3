// `{ module, export }`: a function of the user's TypeScript or JavaScript file, resolved beside the
// pipeline file and imported once per process. Processing steps, incremental converts, the auth
// hook and module resources all load their code here.
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type ErrorCode, RestloadError, messageOf } from "../errors.ts";

export interface ModuleSpec {
  readonly module: string;
  readonly export: string;
}

const modules = new Map<string, Promise<Record<string, unknown>>>();

/**
 * The function `spec.export` of the module `spec.module` (relative to `baseDir`). `where` names the
 * setting in errors ("the map step 2 of resource \"issues\""); `code` is the error code a failure
 * carries (E_STEP for steps, E_AUTH for an auth hook, …).
 *
 * @example
 * const sign = await loadUserFunction({ module: "./sign.ts", export: "sign" }, "the auth of the client", dir, "E_AUTH");
 */
export async function loadUserFunction<F extends (...args: never[]) => unknown>(
  spec: ModuleSpec,
  where: string,
  baseDir: string,
  code: ErrorCode,
): Promise<F> {
  const file = isAbsolute(spec.module) ? spec.module : resolve(baseDir, spec.module);
  if (!existsSync(file)) {
    throw new RestloadError(code, `Cannot load module "${spec.module}" of ${where} as ${file} does not exist`, {
      hint: "Module paths are relative to the pipeline file.",
    });
  }
  let loaded = modules.get(file);
  if (!loaded) {
    loaded = import(pathToFileURL(file).href) as Promise<Record<string, unknown>>;
    modules.set(file, loaded);
  }
  let exports: Record<string, unknown>;
  try {
    exports = await loaded;
  } catch (error) {
    throw new RestloadError(code, `Cannot load module "${spec.module}" of ${where}: ${messageOf(error)}`, {
      hint: "Fix the module so it loads.",
    });
  }
  const found = exports[spec.export];
  if (typeof found !== "function") {
    const names = Object.keys(exports).filter((name) => typeof exports[name] === "function");
    throw new RestloadError(
      code,
      `Cannot use "${spec.export}" of module "${spec.module}" in ${where} as the module exports no such function (it exports: ${names.join(", ") || "none"})`,
      { hint: "Export the function under that name, or fix `export` in the configuration." },
    );
  }
  return found as F;
}
