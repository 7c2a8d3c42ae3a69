#!/usr/bin/env node
import '../dist/nimbusd.js';
