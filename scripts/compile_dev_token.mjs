// Compile exchange/chain/contracts/DevToken.sol with npm's solc and write DevToken.json (ABI and
// bytecode) beside it. Run once when the contract changes (`node scripts/compile_dev_token.mjs`
// after `npm ci`); the artifact is committed so that nothing needs a compiler at run time.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const solc = require("solc");
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const dir = path.join(root, "exchange/chain/contracts");
const input = {
  language: "Solidity",
  sources: { "DevToken.sol": { content: fs.readFileSync(path.join(dir, "DevToken.sol"), "utf8") } },
  settings: { optimizer: { enabled: true, runs: 200 }, outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } } },
};
function findImports(name) {
  try {
    return { contents: fs.readFileSync(path.join(root, "node_modules", name), "utf8") };
  } catch (err) {
    return { error: `not found: ${name}` };
  }
}
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  console.error(errors.map((e) => e.formattedMessage).join("\n"));
  process.exit(1);
}
const contract = output.contracts["DevToken.sol"].DevToken;
const artifact = {
  contractName: "DevToken",
  source: "exchange/chain/contracts/DevToken.sol (OpenZeppelin 4.9.6 ERC20PresetMinterPauser)",
  compiler: `solc ${solc.version()}`,
  abi: contract.abi,
  bytecode: "0x" + contract.evm.bytecode.object,
};
fs.writeFileSync(path.join(dir, "DevToken.json"), JSON.stringify(artifact, null, 1) + "\n");
console.log(`wrote DevToken.json (${contract.evm.bytecode.object.length / 2} bytes of bytecode, ${artifact.compiler})`);
