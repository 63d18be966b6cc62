import numpy as np
import pytest

from sim.population.people import COLUMNS, FEMALE, MALE, NO_SPOUSE, People


def test_new_people_take_defaults_and_ids_stay_stable_as_arrays_grow():
    pop = People({"age_months": np.array([300, 400]), "sex": np.array([FEMALE, MALE])})
    first_ids = pop.active.copy()
    for month in range(20):
        ids = pop.add(3, sex=MALE, age_months=month)
        assert list(ids) == list(range(len(pop) - 3, len(pop)))
    assert len(pop) == 62 and list(pop.age_months[first_ids]) == [300, 400]
    assert np.all(pop.spouse == NO_SPOUSE) and pop.age_months[-1] == 19
    for name, (_, default) in COLUMNS.items():  # through four growths of the arrays
        if name not in ("sex", "age_months"):
            assert np.all(getattr(pop, name)[2:] == default), name


def test_the_dead_keep_their_row_and_leave_the_active_view():
    pop = People({"age_months": np.arange(5)})
    pop.alive[[1, 3]] = False
    assert list(pop.active) == [0, 2, 4] and len(pop) == 5


def test_columns_have_their_declared_types_and_stay_compact():
    pop = People({"age_months": np.arange(1000)})
    for name, column in pop.columns():
        assert column.dtype == COLUMNS[name][0]
    assert pop.nbytes() / len(pop) <= 20


def test_unknown_or_ragged_columns_are_rejected():
    with pytest.raises(ValueError, match="unknown"):
        People({"height": np.zeros(3)})
    with pytest.raises(ValueError, match="length"):
        People({"age_months": np.zeros(3), "sex": np.zeros(2)})
