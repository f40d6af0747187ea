import { describe, expect, it } from "vitest";
import { isValidExtensionId, localExtensionId } from "./extension-id.ts";

describe("isValidExtensionId", () => {
  it("accepts the seed's valid examples", () => {
    for (const id of ["acme.canbus-decoder", "john-doe.mqtt-bridge", "local.sensor-01"]) expect(isValidExtensionId(id), id).toBe(true);
  });

  it("refuses the seed's invalid examples and other malformed ids", () => {
    for (const id of ["Acme.CANBus", "acme.-canbus", "acme..canbus", "acme", "acme.canbus-", ".acme", "acme.can_bus", ""]) expect(isValidExtensionId(id), id).toBe(false);
  });
});

describe("localExtensionId", () => {
  it("normalises the seed's folder names", () => {
    expect(localExtensionId("Sensor_Monitor")).toBe("local.sensor-monitor");
    expect(localExtensionId("My Extension v2")).toBe("local.my-extension-v2");
    expect(localExtensionId("CAN__BUS___Tool")).toBe("local.can-bus-tool");
    expect(localExtensionId("--Edge--")).toBe("local.edge");
  });
});
