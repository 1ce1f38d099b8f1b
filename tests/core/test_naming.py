"""Free names: a taken name gets the next counter, before the extension."""

from core.naming import free_name


def test_a_taken_name_gets_the_next_free_counter():
    taken = {"report.pdf", "report(1).pdf", "notes", "Q3(4)"}
    assert free_name("report.pdf", taken.__contains__) == "report(2).pdf"
    assert free_name("notes", taken.__contains__) == "notes(1)"
    assert free_name("Q3(4)", taken.__contains__) == "Q3(5)"  # an existing counter is raised
    assert free_name("fresh.txt", taken.__contains__) == "fresh.txt"
