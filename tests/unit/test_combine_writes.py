"""Several writes as one statement: each a WITH query, parameters renumbered in sequence."""

from __future__ import annotations

from nexus.db.repositories.prepared import combine_writes


def test_parameters_of_each_write_follow_those_of_the_one_before() -> None:
    sql = combine_writes(
        [
            "UPDATE a SET x = $1 WHERE id = $2",
            "INSERT INTO b (p, q, r) VALUES ($1, $2, $3::jsonb)",
            "UPDATE c SET y = $2 WHERE id = $1",
        ]
    )
    assert sql == (
        "WITH w0 AS (UPDATE a SET x = $1 WHERE id = $2), "
        "w1 AS (INSERT INTO b (p, q, r) VALUES ($3, $4, $5::jsonb)), "
        "w2 AS (UPDATE c SET y = $7 WHERE id = $6) SELECT 1"
    )


def test_two_digit_parameters_are_renumbered_whole() -> None:
    first = "INSERT INTO a VALUES (" + ", ".join(f"${n}" for n in range(1, 12)) + ")"
    sql = combine_writes([first, "UPDATE b SET x = $1"])
    assert "$11)" in sql and "UPDATE b SET x = $12)" in sql
    assert "$110" not in sql and "$21" not in sql


def test_a_write_without_parameters_shifts_nothing() -> None:
    sql = combine_writes(["UPDATE a SET x = now()", "UPDATE b SET y = $1"])
    assert sql == "WITH w0 AS (UPDATE a SET x = now()), w1 AS (UPDATE b SET y = $1) SELECT 1"
