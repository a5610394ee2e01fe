#!/usr/bin/env node
// `byninja` command: runs the compiled CLI (npm install builds it through `prepare`).
'use strict';
const path = require('node:path');
const main = path.join(__dirname, '../dist/src/cli/main.js');
try {
  require.resolve(main);
} catch {
  process.stderr.write(`byninja: ${main} is missing — build first with \`npm run build\`\n`);
  process.exit(1);
}
require(main);
