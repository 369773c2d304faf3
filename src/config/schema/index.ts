// The whole pipeline file: `[pipeline]`, `[client]`, `[resource_defaults]`, `resources`, `[export]`.
import * as v from "valibot";
import { table } from "./_kit.ts";
import { ExportSectionSchema } from "./export.ts";
import { ClientSchema, PipelineSectionSchema } from "./pipeline.ts";
import { ResourceDefaultsSchema, ResourceSchema } from "./resource.ts";
import { describe } from "../references.ts";

export const PipelineFileSchema = table({
  pipeline: PipelineSectionSchema,
  client: v.optional(ClientSchema, {}),
  resource_defaults: v.optional(ResourceDefaultsSchema, {}),
  resources: v.pipe(
    v.array(ResourceSchema, (issue) => `expected an array of resources, found ${describe(issue.input)}`),
    v.minLength(1, "expected at least one resource"),
  ),
  export: v.optional(ExportSectionSchema),
});

/** A pipeline file as validated, with the defaults of each key applied. */
export type PipelineFile = v.InferOutput<typeof PipelineFileSchema>;
