# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Stand-in for the get-pip.py script ansible-test downloads (unreachable here).

ansible-test runs it inside each new sanity virtualenv with pip's install
arguments.  Bootstrap pip with ensurepip in a subprocess (in-process ensurepip
sets PIP_CONFIG_FILE=/dev/null, which would hide the machine's pip settings),
then install what was asked for.  --no-setuptools/--no-wheel are get-pip
options, not pip's.
"""

import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.run([sys.executable, "-m", "ensurepip", "--default-pip"], check=True, stdout=subprocess.DEVNULL)
if args:
    subprocess.run([sys.executable, "-m", "pip", "install"] + args, check=True)
