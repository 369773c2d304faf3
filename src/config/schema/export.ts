// `[export]`: the folder the dataset is published to as Parquet after every successful run (SPEC §12).
import type * as v from "valibot";
import { nonEmptyText, table } from "./_kit.ts";

/** `dir` is as written; the plan resolves a relative one as it does `pipeline.database`. */
export const ExportSectionSchema = table({ dir: nonEmptyText });
export type ExportSection = v.InferOutput<typeof ExportSectionSchema>;
