// The DuckDB version restload is built with, read without loading the native library.
import duckdbPackage from "@duckdb/node-api/package.json" with { type: "json" };

/** "1.5.6" for the package version "1.5.6-r.1". */
export const duckdbVersion: string = duckdbPackage.version.replace(/-r\.\d+$/, "");
