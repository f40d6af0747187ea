import { describe, expect, it } from "vitest";
import { externalResources, stripAnalytics } from "./allure-generator.ts";

describe("stripAnalytics", () => {
  it("removes Allure's Google Analytics loader and beacon and keeps the report's own scripts", () => {
    const html = [
      '<script src="data:text/javascript;base64,AAAA"></script>',
      '    <script async src="https://www.googletagmanager.com/gtag/js?id=G-X"></script>',
      "    <script>",
      "        window.dataLayer = window.dataLayer || [];",
      "        gtag('config', 'G-X', {});",
      "    </script>",
      "    <script async>window.allureReportData = {};</script>",
    ].join("\n");
    expect(externalResources(html)).toEqual(["https://www.googletagmanager.com/gtag/js?id=G-X"]);
    const stripped = stripAnalytics(html);
    expect(externalResources(stripped)).toEqual([]);
    expect(stripped).not.toContain("dataLayer");
    expect(stripped).toContain("data:text/javascript;base64,AAAA");
    expect(stripped).toContain("window.allureReportData = {};");
  });
});
