#!/usr/bin/env -S node --max-semi-space-size=2
// A small young generation: with 20,000 VMs nimbusd holds ~80 MB less RSS (docs/performance.md).
// `make start` and the lifecycle benchmark start nimbusd with the same flag.
import '../dist/nimbusd.js';
