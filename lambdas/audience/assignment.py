"""Minimum-cost assignment of tracks to faces, in plain Python (the audience function carries no numpy).

``assign`` pairs rows (tracks) with columns (faces) so that the total cost is least, where a pair may be
forbidden (``None``) and any row or column may stay unpaired at a fixed price. It solves each group of
rows and columns linked by allowed pairs on its own (people far apart never compete), with the
Hungarian method (Kuhn-Munkres with potentials, O(n^3)). SciPy's ``linear_sum_assignment`` does the
same but needs numpy; no maintained pure-Python package does it with forbidden pairs and prices for
staying unpaired, and it is these few lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Costs = Sequence[Sequence[float | None]]


def _hungarian(matrix: list[list[float]]) -> list[int]:
    """For a square matrix, the column of each row in a least-cost perfect matching."""
    n = len(matrix)
    u, v = [0.0] * (n + 1), [0.0] * (n + 1)
    match = [0] * (n + 1)  # match[column] = row (1-based; 0: none)
    for row in range(1, n + 1):
        match[0], column = row, 0
        least = [math.inf] * (n + 1)
        way = [0] * (n + 1)
        used = [False] * (n + 1)
        while match[column]:
            used[column] = True
            r, delta, nxt = match[column], math.inf, 0
            for c in range(1, n + 1):
                if not used[c]:
                    reduced = matrix[r - 1][c - 1] - u[r] - v[c]
                    if reduced < least[c]:
                        least[c], way[c] = reduced, column
                    if least[c] < delta:
                        delta, nxt = least[c], c
            for c in range(n + 1):
                if used[c]:
                    u[match[c]] += delta
                    v[c] -= delta
                else:
                    least[c] -= delta
            column = nxt
        while column:
            previous = way[column]
            match[column] = match[previous]
            column = previous
    row_to_column = [0] * n
    for column in range(1, n + 1):
        row_to_column[match[column] - 1] = column - 1
    return row_to_column


def _groups(costs: Costs, rows: int, columns: int) -> list[tuple[list[int], list[int]]]:
    """Rows and columns split into the groups that allowed pairs connect."""
    parent = list(range(rows + columns))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for r in range(rows):
        for c in range(columns):
            if costs[r][c] is not None:
                parent[root(r)] = root(rows + c)
    members: dict[int, tuple[list[int], list[int]]] = {}
    for r in range(rows):
        members.setdefault(root(r), ([], []))[0].append(r)
    for c in range(columns):
        members.setdefault(root(rows + c), ([], []))[1].append(c)
    return [group for group in members.values() if group[0] and group[1]]


def assign(costs: Costs, columns: int, unpaired_row: float, unpaired_column: float) -> list[tuple[int, int]]:
    """The (row, column) pairs of a least-cost assignment; ``costs[row][column]`` is None where forbidden.

    Leaving a row unpaired costs ``unpaired_row`` and a column ``unpaired_column``, so a pair is made only
    where it costs less than leaving both of its ends alone.
    """
    pairs: list[tuple[int, int]] = []
    for rows_in, columns_in in _groups(costs, len(costs), columns):
        n_r, n_c = len(rows_in), len(columns_in)
        size = n_r + n_c
        big = 1e9
        matrix = [[0.0] * size for _ in range(size)]
        for i, r in enumerate(rows_in):
            for j, c in enumerate(columns_in):
                cost = costs[r][c]
                matrix[i][j] = big if cost is None else cost
            for j in range(n_r):  # the row left alone
                matrix[i][n_c + j] = unpaired_row if i == j else big
        for i in range(n_c):  # the column left alone
            for j in range(n_c):
                matrix[n_r + i][j] = unpaired_column if i == j else big
        for i, column in enumerate(_hungarian(matrix)[:n_r]):
            if column < n_c and costs[rows_in[i]][columns_in[column]] is not None:
                pairs.append((rows_in[i], columns_in[column]))
    return sorted(pairs)
