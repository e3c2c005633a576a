"""The shared vocabulary: one list of tasks, variants, extensions and protocols; one natural order."""

from enum import Enum

from uir_cli import vocab
from uir_cli.vocab import natural_key


def test_natural_order_compares_numbers_by_value_and_ignores_case():
    assert sorted(["x10", "X2", "x1"], key=natural_key) == ["x1", "X2", "x10"]
    assert sorted(["img10.png", "img9.png", "b/img2.png", "a.png"], key=natural_key) == [
        "a.png", "b/img2.png", "img9.png", "img10.png"]


def test_natural_order_is_total_and_takes_any_digit():
    names = ["a01", "a1", "A1", "2b", "b", "\u00b2x", "x\u0663"]  # a superscript two, an Arabic-Indic three
    once = sorted(names, key=natural_key)
    assert once == sorted(reversed(names), key=natural_key)  # ties broken the same way from any start
    assert once.index("2b") < once.index("b")


def test_the_cli_choices_come_from_the_vocabulary():
    from uir_cli.cli.benchmark import Protocol
    from uir_cli.cli.restore import Task

    assert issubclass(Task, Enum) and tuple(t.value for t in Task) == vocab.TASK_CHOICES
    assert tuple(p.value for p in Protocol) == vocab.PROTOCOLS
    assert vocab.TASK_CHOICES == ("auto", *vocab.TASKS)


def test_variant_letters_name_the_same_shapes():
    assert vocab.VARIANT_LETTERS == {"T": vocab.VARIANTS["diffuir-t"], "S": vocab.VARIANTS["diffuir-s"],
                                     "B": vocab.VARIANTS["diffuir-b"], "L": vocab.VARIANTS["diffuir-l"]}
