// `processing_steps`: declarative filter and map steps, or hooks into the user's own module.
import * as v from "valibot";
import { anyValue, has, hook, oneOf, table, text, textList } from "./_kit.ts";
import { describe, isTable } from "../references.ts";

export const filterOps = ["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "exists", "missing", "matches"] as const;
export type FilterOp = (typeof filterOps)[number];

export type Condition =
  | { field: string; op: FilterOp; value?: unknown }
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { module: string; export: string };

const comparison = v.pipe(
  table({ field: text, op: oneOf(filterOps, "an operator:"), value: v.optional(anyValue) }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const { op, value } = dataset.value;
    const issue = (message: string) =>
      addIssue({ message, path: [{ type: "object", origin: "value", input: dataset.value, key: "value", value }] });
    if (op === "exists" || op === "missing") {
      if (value !== undefined) issue(`op "${op}" takes no value`);
    } else if (value === undefined) {
      issue(`op "${op}" needs a value`);
    } else if ((op === "in" || op === "not_in") && !Array.isArray(value)) {
      issue(`op "${op}" needs an array value, found ${describe(value)}`);
    } else if (op === "matches") {
      if (typeof value !== "string") issue(`op "matches" needs a regular expression string, found ${describe(value)}`);
      else {
        try {
          new RegExp(value);
        } catch (error) {
          issue(`op "matches" needs a valid regular expression: ${(error as Error).message}`);
        }
      }
    }
  }),
);

const conditionList = v.array(
  v.lazy(() => ConditionSchema),
  (issue) => `expected an array of conditions, found ${describe(issue.input)}`,
);

export const ConditionSchema: v.GenericSchema<unknown, Condition> = v.lazy((input) => {
  if (has(input, "module")) return hook;
  if (has(input, "all")) return table({ all: conditionList });
  if (has(input, "any")) return table({ any: conditionList });
  if (has(input, "not")) return table({ not: v.lazy(() => ConditionSchema) });
  if (isTable(input)) return comparison;
  return v.custom<never>(
    () => false,
    () => `expected a condition { field, op, value }, { all | any = [...] }, { not = ... } or { module, export }, found ${describe(input)}`,
  );
}) as v.GenericSchema<unknown, Condition>;

const mapSpec = v.lazy((input) =>
  has(input, "module")
    ? hook
    : table({
        drop: v.optional(textList),
        rename: v.optional(v.record(v.string(), text)),
        set: v.optional(v.record(v.string(), anyValue)),
      }),
);

export const StepSchema = v.lazy((input) => {
  if (has(input, "filter")) return table({ filter: ConditionSchema });
  if (has(input, "map")) return table({ map: mapSpec });
  return v.custom<never>(
    () => false,
    () => `expected a step { filter = ... } or { map = ... }, found ${describe(input)}`,
  );
});
export type Step = { filter: Condition } | { map: v.InferOutput<typeof mapSpec> };
