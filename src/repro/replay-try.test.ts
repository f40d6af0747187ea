import { describe, expect, it } from "vitest";
import { exactPattern } from "./replay-try.ts";

describe("a try's test filter", () => {
  it("matches exactly the test's full name, with every regular-expression character taken literally", () => {
    const name = "manifest validation on 'linux-x86_64.bookworm.reference' ARC-09: a manifest with 21 keywords (one over the limit of 20) is refused [x]+?";
    const re = new RegExp(exactPattern(name));
    expect(re.test(name)).toBe(true);
    expect(re.test(`${name} too`)).toBe(false);
    expect(re.test(name.replace("(one", "one"))).toBe(false);
    expect(re.test(name.replace("x86_64.", "x86_64X"))).toBe(false);
  });
});
