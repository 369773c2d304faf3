// Write settings that work but are probably not what the user meant: printed by check, never fatal.
import type { ResolvedResource } from "../config/resolve.ts";
import type { IncrementalConfig } from "../config/schema/incremental.ts";

/** Merge without a key (it appends), and lag with append (the lag window loads again every run). */
export function writeWarnings(
  resource: Pick<ResolvedResource, "name" | "write_disposition" | "primary_key" | "merge_key">,
  incremental: Pick<IncrementalConfig, "lag"> | null,
): string[] {
  const warnings: string[] = [];
  const { disposition } = resource.write_disposition;
  // Only delete-insert falls back to append: upsert without a key is refused, scd2 needs none.
  if (resource.write_disposition.strategy === "delete-insert" && resource.primary_key.length === 0 && resource.merge_key.length === 0) {
    warnings.push(`resource "${resource.name}": write_disposition = "merge" without primary_key or merge_key behaves as append`);
  }
  if (incremental !== null && incremental.lag !== null && incremental.lag > 0 && disposition === "append") {
    warnings.push(
      `resource "${resource.name}": incremental lag with write_disposition = "append" loads the records inside the lag window again on every run`,
    );
  }
  return warnings;
}
