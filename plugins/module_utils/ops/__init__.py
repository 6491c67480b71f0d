# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Day-2 operations that read and write live workloads through the service layer (k8s/client.py)."""

from __future__ import annotations
