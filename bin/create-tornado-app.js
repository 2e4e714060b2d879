#!/usr/bin/env node
import "../dist/src/create.js";
