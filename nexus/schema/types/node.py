"""The Node interface: every object with a public id (pi_…, re_…, evt_…)."""

from __future__ import annotations

import strawberry


@strawberry.interface
class Node:
    id: strawberry.ID
