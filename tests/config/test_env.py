from __future__ import annotations

import pytest

from config.env import Env, EnvError


def test_it_reads_booleans_in_the_usual_spellings() -> None:
    env = Env({"A": "true", "B": "0", "C": " Yes ", "D": "off"})
    assert [env.boolean(n) for n in "ABCD"] == [True, False, True, False]
    assert env.boolean("MISSING", default=True) is True


@pytest.mark.parametrize("raw", ["maybe", "2", "tru"])
def test_it_refuses_a_boolean_it_cannot_read(raw: str) -> None:
    with pytest.raises(EnvError, match=r"^DEBUG: expected true/false"):
        Env({"DEBUG": raw}).boolean("DEBUG")


def test_it_refuses_a_number_that_is_not_one() -> None:
    with pytest.raises(EnvError, match=r"^EMAIL_PORT: expected a whole number, got 'x25'"):
        Env({"EMAIL_PORT": "x25"}).integer("EMAIL_PORT", 25)


def test_it_refuses_a_number_below_its_minimum() -> None:
    with pytest.raises(EnvError, match=r"^LOGIN_FAILURE_LIMIT: must be at least 1, got 0"):
        Env({"LOGIN_FAILURE_LIMIT": "0"}).integer("LOGIN_FAILURE_LIMIT", 5, minimum=1)


def test_it_splits_lists_on_commas() -> None:
    assert Env({"HOSTS": "a.test, b.test,,"}).strings("HOSTS") == ["a.test", "b.test"]
    assert Env({}).strings("HOSTS", ["x"]) == ["x"]


def test_it_parses_a_postgres_url() -> None:
    config = Env({"DATABASE_URL": "postgres://app:pw@db.internal:5433/flipside"}).database(
        "DATABASE_URL"
    )
    assert config is not None
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"], config["USER"]) == (
        "db.internal",
        5433,
        "flipside",
        "app",
    )


def test_it_returns_no_database_when_unset() -> None:
    assert Env({}).database("DATABASE_URL") is None


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("mysql://db/flipside", "expected postgres://"),
        ("not a url", "expected postgres://"),
        ("postgres://db:port/flipside", "the port is not a number"),
        ("postgres://db:5432", "names no database"),
    ],
)
def test_it_refuses_a_malformed_database_url(raw: str, problem: str) -> None:
    with pytest.raises(EnvError, match=rf"^DATABASE_URL: .*{problem}"):
        Env({"DATABASE_URL": raw}).database("DATABASE_URL")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("http://cache:6379/0", "expected redis://"),
        ("redis://cache:six/0", "the port is not a number"),
        ("redis://:6379/0", "the host is missing"),
        ("redis://cache:6379/zero", "the database must be a number"),
    ],
)
def test_it_refuses_a_malformed_redis_url(raw: str, problem: str) -> None:
    with pytest.raises(EnvError, match=rf"^REDIS_URL: .*{problem}"):
        Env({"REDIS_URL": raw}).redis_url("REDIS_URL")


def test_it_accepts_a_redis_url() -> None:
    assert Env({"REDIS_URL": "redis://cache:6379/2"}).redis_url("REDIS_URL") == (
        "redis://cache:6379/2"
    )
