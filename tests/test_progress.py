"""Progress of a run where stderr is no terminal (a batch job's log): a plain line each tenth of the way."""
import re

from sim import Ensemble
from sim.progress import ProgressLines

LINE = re.compile(r"^(?P<label>.+): (?P<done>\d+) of (?P<total>\d+) replicates \((?P<percent>\d+)%\), "
                  r"(?P<elapsed>[\d a-z]+) elapsed(?:, about (?P<left>[\d a-z]+) left)?$")


def test_a_run_without_a_terminal_logs_its_replicates_a_tenth_at_a_time_to_the_end(universal, capsys):
    Ensemble(universal, 4, seed=5, population_size=5000, quiet=False).run()
    lines = [LINE.match(line) for line in capsys.readouterr().err.splitlines()]
    assert all(lines) and {line["label"] for line in lines} == {universal.name}
    done = [int(line["done"]) for line in lines]
    assert done == [1, 2, 3, 4] and {line["total"] for line in lines} == {"4"}  # four tenths each
    assert [line["percent"] for line in lines] == ["25", "50", "75", "100"]
    assert all(line["left"] for line in lines[:-1]) and lines[-1]["left"] is None


def test_a_line_says_the_time_taken_and_left_at_the_pace_so_far(capsys):
    now = [0.0]
    lines = ProgressLines("Heshan", 200, clock=lambda: now[0])
    with lines:
        for _ in range(40):
            now[0] += 1.75
            lines.update()
    assert capsys.readouterr().err.splitlines() == [
        "Heshan: 20 of 200 replicates (10%), 35 s elapsed, about 5 min 15 s left",
        "Heshan: 40 of 200 replicates (20%), 1 min 10 s elapsed, about 4 min 40 s left"]


def test_a_resumed_run_counts_its_earlier_replicates_but_not_their_time(capsys):
    now = [0.0]
    with ProgressLines("Heshan", 10, done=5, clock=lambda: now[0]) as lines:
        now[0] += 30
        lines.update()
    assert capsys.readouterr().err == "Heshan: 6 of 10 replicates (60%), 30 s elapsed, about 2 min left\n"
