import { describe, expect, it } from "vitest";
import { schemaDefaults } from "./config-schema-defaults.ts";

describe("schemaDefaults (ARC-14)", () => {
  it("collects defaults of nested objects, an explicit default winning, and leaves out objects with none", () => {
    const schema = {
      type: "object",
      properties: {
        apiKey: { type: "string" },
        interval: { type: "number", default: 60 },
        connection: { type: "object", properties: { host: { default: "localhost" }, retry: { type: "object", properties: { attempts: { default: 3 } } } } },
        empty: { type: "object", properties: { x: { type: "string" } } },
        fixed: { type: "object", default: { a: 1 }, properties: { a: { default: 2 } } },
      },
    };
    expect(schemaDefaults(schema)).toEqual({ interval: 60, connection: { host: "localhost", retry: { attempts: 3 } }, fixed: { a: 1 } });
    expect(schemaDefaults({ type: "object", properties: { x: { type: "string" } } })).toBeUndefined();
    expect(schemaDefaults(null)).toBeUndefined();
  });
});
