#!/bin/sh
# moltworker's container starts the OpenClaw gateway on port 18789.
exec openclaw gateway --port 18789 --bind lan --allow-unconfigured
