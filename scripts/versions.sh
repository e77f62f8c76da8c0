# shellcheck shell=bash disable=SC2034
# (SC2034: the variables are read by the scripts that source this file.)
# The tested matrix, in one place; README.md "Supported versions" states the same.
# Sourced by scripts/lib.sh.

# The main venv (.venv): the newest ansible-core on its newest Python these machines have.
MAIN_CORE=2.21
MAIN_PYTHON=3.13
# Every other supported ansible-core, with the controller Python it is tested on (the oldest
# its python_requires allows: 2.19 needs >=3.11, 2.20 needs >=3.12). Stage compat-CORE.
declare -A COMPAT_PYTHON=([2.19]=3.11 [2.20]=3.12)
COMPAT_CORES=(2.19 2.20)
# Target Pythons that only an older ansible-core allows (2.19 still runs modules on 3.8): the
# stage compat-CORE runs sanity's compile and import tests on them with that core's ansible-test.
declare -A COMPAT_SANITY_PYTHONS=([2.19]=3.8)
# Target Pythons that ansible-test sanity must run on (multi-version tests: compile, import).
# ansible-test 2.21 also knows 3.14; no machine of ours has it, so it is reported UNTESTED.
SANITY_PYTHONS=(3.9 3.10 3.11 3.12 3.13)
