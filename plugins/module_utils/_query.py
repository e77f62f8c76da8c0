# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""JMESPath projection of module results (the ``query`` option of info modules)."""

from __future__ import annotations

import traceback
from typing import Any, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError

try:
    import jmespath

    JMESPATH_IMPORT_ERROR: Optional[str] = None
except ImportError:
    jmespath = None
    JMESPATH_IMPORT_ERROR = traceback.format_exc()


def run_query(expression: str, data: Any) -> Any:
    """``expression`` applied to ``data``; a malformed expression fails naming the option."""
    if jmespath is None:
        raise KubeApiError("query: the jmespath Python library is required", reason="MissingLibrary")
    try:
        return jmespath.search(expression, data)
    except jmespath.exceptions.JMESPathError as exc:
        raise KubeApiError("query: invalid JMESPath expression %r: %s" % (expression, exc), reason="InvalidArgument")
