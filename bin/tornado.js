#!/usr/bin/env node
import "../dist/src/tornado.js";
