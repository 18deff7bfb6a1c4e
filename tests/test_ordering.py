"""Loading order: a model comes after the models it refers to, unless both are in a cycle."""

import itertools

from django.db import models
from django.test.utils import isolate_apps
from hypothesis import given, settings, strategies as st

from pyserializer.dumping.ordering import dependencies, loading_order


def assert_references_come_first(order, cycles=()):
    """``cycles``: pairs of models that refer to each other, directly or not."""
    for index, model in enumerate(order):
        for dep in dependencies(model):
            if dep in order and {model, dep} not in cycles:
                assert order.index(dep) < index, "%s before %s" % (
                    model.__name__, dep.__name__)


def model(name, **references):
    """A test model of testapp whose foreign keys point to the models named."""
    attrs = {"__module__": "testapp.models"}
    for field, target in references.items():
        attrs[field] = models.ForeignKey(target, models.CASCADE, related_name="+")
    return type(name, (models.Model,), attrs)


@isolate_apps("testapp")
def test_a_cycle_is_broken_inside_the_cycle_never_before_a_model_outside_it():
    Appointment = model("Appointment", veterinarian="Veterinarian")
    Veterinarian = model("Veterinarian", department="Department")
    Department = model("Department", head="Veterinarian")
    Clinic = model("Clinic")

    order = loading_order([Appointment, Clinic, Department, Veterinarian])
    assert order.index(Appointment) > order.index(Veterinarian)
    assert order.index(Appointment) > order.index(Department)
    assert order == [Clinic, Department, Veterinarian, Appointment]
    assert_references_come_first(order, cycles=[{Veterinarian, Department}])


@isolate_apps("testapp")
def test_without_cycles_ties_keep_the_given_order():
    A = model("A")
    B = model("B", a="A")
    C = model("C")

    assert loading_order([B, C, A]) == [C, A, B]
    assert loading_order([C, B, A]) == [C, A, B]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.integers(min_value=2, max_value=7).flatmap(
        lambda size: st.tuples(
            st.just(size),
            st.sets(st.tuples(st.integers(0, size - 1), st.integers(0, size - 1))),
            st.permutations(range(size)),
        )
    )
)
def test_every_model_outside_a_cycle_comes_after_what_it_refers_to(graph):
    size, edges, given_order = graph
    with isolate_apps("testapp"):
        built = [
            model("M%d" % number, **{
                "ref_%d" % target: "M%d" % target
                for target in sorted({b for a, b in edges if a == number and b != number})
            })
            for number in range(size)
        ]
        order = loading_order([built[index] for index in given_order])
        assert sorted(order, key=built.index) == built
        cycles = _cycles(size, edges, built)
        assert_references_come_first(order, cycles)
        assert loading_order([built[index] for index in given_order]) == order


def _cycles(size, edges, built):
    """Models that reach each other (by brute force: the test's own oracle)."""
    reach = {(a, b) for a, b in edges if a != b}
    for k, i, j in itertools.product(range(size), repeat=3):
        if (i, k) in reach and (k, j) in reach:
            reach.add((i, j))
    return [{built[a], built[b]} for a, b in reach if (b, a) in reach]
