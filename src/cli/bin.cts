#!/usr/bin/env node
// `bstctl`: the CLI's bundle, from its code cache (src/boot.cts)
import { runBundle } from '../boot.cjs';

runBundle('bstctl');
