#!/usr/bin/env node
// `npm start`, `npm restart`, `npm run upgrade`: run `byninja start|upgrade …` (src/ops/pair-control.ts) from the
// current build. A fresh clone has none yet: build it first (then `start --build` need not build again).
// Plain JavaScript: it has to run before anything is compiled.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const cli = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
let args = process.argv.slice(2);
if (!fs.existsSync(cli)) {
  const built = spawnSync(process.execPath, [path.join(__dirname, 'build.js')], { stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status || 1);
  args = args.filter((a) => a !== '--build');
}
process.argv = [process.argv[0], cli, ...args];
require(cli);
