#!/usr/bin/env python3
"""Adds Sharp's matched settings to a job list: `with_settings.py <jobs.json> <calibration.json>`."""

import json
import sys

with open(sys.argv[1]) as f:
    spec = json.load(f)
with open(sys.argv[2]) as f:
    calibration = json.load(f)
for job in spec["jobs"]:
    cal = calibration[job["id"]]
    job["sharp"] = {"preset": cal["preset"]["matched"], "thumb": cal["thumb"]["matched"]}
json.dump(spec, sys.stdout, indent=1)
