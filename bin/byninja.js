#!/usr/bin/env node
// `byninja` command: runs the compiled CLI (npm install builds it through `prepare`).
'use strict';
require('../dist/src/cli/main.js');
