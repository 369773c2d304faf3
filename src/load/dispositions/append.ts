// append: every segment's rows go in as they come; rows of earlier loads stay.
import { insertSegment } from "./_insert.ts";
import type { Disposition } from "./types.ts";

export const append: Disposition = {
  loadSegment: insertSegment,
  async finish() {},
};
