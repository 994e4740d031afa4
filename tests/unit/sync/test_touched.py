from sqlmodel import Session, create_engine

from sync import touched


def test_marks_collect_per_session_and_take_empties_them():
    engine = create_engine("sqlite://")
    with Session(engine) as one, Session(engine) as other:
        touched.mark(one, persons=["p1", None, "p2"], households=["h1"])
        touched.mark(one, persons=["p1"])
        touched.mark(other, households=["h9"])
        assert touched.take(one) == ({"p1", "p2"}, {"h1"})
        assert touched.take(one) == (set(), set())
        assert touched.take(other) == (set(), {"h9"})


def test_a_rollback_forgets_the_marks():
    engine = create_engine("sqlite://")
    with Session(engine) as s:
        s.connection()  # a transaction to roll back
        touched.mark(s, persons=["p1"])
        s.rollback()
        assert touched.take(s) == (set(), set())
