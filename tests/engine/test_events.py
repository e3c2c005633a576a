"""Typed events: frozen dataclasses, one base, results wrapped by one generic."""

import dataclasses

import pytest

from uir_cli.bench.events import DatasetFinished, ImageFinished
from uir_cli.engine.batch.events import FileFinished, Planned
from uir_cli.engine.events import Event, Finished, TilesDone, ignore
from uir_cli.training.events import Warned


def test_every_event_is_a_frozen_event():
    for event in (Planned(1, 0, 0), FileFinished("r"), TilesDone(1, 64), ImageFinished("r", None), DatasetFinished("d"),
                  Warned("w")):
        assert isinstance(event, Event)
        with pytest.raises(dataclasses.FrozenInstanceError):
            event.x = 1
    assert ignore(TilesDone(1, 1)) is None


def test_the_finished_events_of_each_room_share_one_base_but_not_one_type():
    file, image = FileFinished("a"), ImageFinished("a", None)
    assert isinstance(file, Finished) and isinstance(image, Finished) and file.result == image.result
    assert file != Finished("a") and type(file) is not type(image)  # renderers tell them apart by type
