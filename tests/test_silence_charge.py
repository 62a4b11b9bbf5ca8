"""The fine-tune's charge on a voice that falls silent for a bar where real music does not (losses/silence.py), by
hand; and that ``critic_transposed`` and ``d_steps`` change which real windows the fine-tune's critic judges."""

import numpy as np
import pytest
import torch

from divertimento.config import config_from_dict
from divertimento.errors import UserError
from divertimento.losses.silence import label_bar_steps, longest_silence, rare_silences, silence_charges, silent_bars
from divertimento.music.roll import HOLD, REST
from divertimento.train.batches import BatchSampler
from divertimento.train.loop import train

from .conftest import TINY_MLE

SUMMARY = {"style_names": ["chorale", "tune"], "steps_per_quarter": 1, "meter_names": ["4/4", "3/4"],
           "meter_bar_steps": [4, 3]}


def test_longest_silence_by_hand():
    # a note held 3 steps, 3 rests and 2 holds after a rest (silent: 5 steps), a new note held; a window that opens
    # on holds of no note (silent 2), a note, then 6 silent steps; a voice that always sounds
    tokens = torch.tensor([[[5, HOLD, HOLD, REST, REST, REST, HOLD, HOLD, 7, HOLD],
                            [HOLD, HOLD, 3, REST, HOLD, HOLD, HOLD, HOLD, HOLD, 4],
                            [6, 6, HOLD, 9, HOLD, HOLD, HOLD, 2, 2, 2]]])
    assert longest_silence(tokens).tolist() == [[5, 6, 0]]


def test_bars_follow_each_labels_meter():
    # labels are style * meters + meter: (chorale, 4/4), (chorale, 3/4), (tune, 4/4), (tune, 3/4)
    assert label_bar_steps(SUMMARY).tolist() == [4, 3, 4, 3]
    assert label_bar_steps({"style_names": ["a", "b"], "steps_per_quarter": 4}).tolist() == [16, 16]
    window = torch.tensor([[[5, HOLD, REST, REST, REST, 5, HOLD, HOLD], [5] * 8]])
    three_steps = torch.tensor([[3, 0]])
    assert torch.equal(longest_silence(window), three_steps)
    bars = label_bar_steps(SUMMARY)
    # a silence of 3 steps is a whole bar of 3/4 and not of 4/4
    assert silent_bars(window, torch.tensor([0]), bars).tolist() == [[False, False]]
    assert silent_bars(window, torch.tensor([1]), bars).tolist() == [[True, False]]


def _windows(n: int, silent_voice: list[int], silent: int) -> np.ndarray:
    """``n`` two-voice windows of 8 steps; in the first ``silent`` of them the voices in ``silent_voice`` rest
    throughout."""
    w = np.full((n, 2, 8), HOLD, dtype=np.uint8)
    w[:, :, 0] = 10
    for v in silent_voice:
        w[:silent, v, :] = REST
    return w


def test_rare_silences_by_hand():
    # (chorale, 4/4): 60 windows, the lower voice silent in 1 (rate 0.017 < 0.02: rare), the upper never (rare);
    # (chorale, 3/4): 10 windows, too few for a rate: never charged; (tune, 4/4): 30 windows whose lower voice
    # always rests (not rare) and whose upper never does (rare); (tune, 3/4): no windows
    tokens = np.concatenate([_windows(60, [1], 1), _windows(10, [], 0), _windows(30, [1], 30)])
    labels = torch.tensor([0] * 60 + [1] * 10 + [2] * 30)
    rare = rare_silences(tokens, labels, SUMMARY)
    assert rare.tolist() == [[True, True], [False, False], [True, False], [False, False]]
    # 2 of 60 windows is a rate of 0.033: no longer rare
    tokens[1, 1, :] = REST
    assert rare_silences(tokens, labels, SUMMARY)[0].tolist() == [True, False]


def test_silence_charges_by_hand():
    rare = torch.tensor([[True, True], [False, False], [True, False], [False, False]])
    bars = label_bar_steps(SUMMARY)
    both_silent = torch.full((1, 2, 8), REST)
    lower_silent = torch.tensor([[[9] + [HOLD] * 7, [REST] * 8]])
    windows = torch.cat([both_silent, lower_silent, both_silent, both_silent])
    labels = torch.tensor([0, 0, 1, 2])
    # 2 charged voices, 1, none (the label is never charged), 1 (the tune's lower voice may rest)
    assert silence_charges(windows, labels, rare, bars, 0.5).tolist() == [1.0, 0.5, 0.0, 0.5]


def test_the_charge_is_refused_where_it_cannot_apply():
    base = {"family": "mle", "adv_weight": 1.0, "critic": "sequence"}
    config_from_dict(dict(base, silence_charge=0.3))
    for bad in ({"silence_charge": -1.0}, {"silence_charge": 0.3, "adv_weight": 0.0},
                {"silence_charge": 0.3, "critic": "causal"}):
        with pytest.raises(UserError, match="silence_charge"):
            config_from_dict(dict(base, **bad))


@pytest.fixture(scope="module")
def key_critic(small_data, tiny_mle_run, tmp_path_factory):
    """A guided model's window critic over the tiny model (one step), for the fine-tune's critic of keys."""
    out = tmp_path_factory.mktemp("keys") / "guided"
    train(small_data, out, config_from_dict({"family": "guided", "base_model": str(tiny_mle_run), "steps": 1,
                                             "batch_size": 4, "d_channels": 16, "candidates": 2, "sample_count": 0,
                                             "threads": 1}), progress=False)
    return out


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("keys", [False, True], ids=["alone", "with-a-critic-of-keys"])
def test_which_real_windows_the_critic_judges(small_data, tiny_mle_run, tmp_path, monkeypatch, transposed, keys,
                                              request):
    key_source = str(request.getfixturevalue("key_critic")) if keys else ""  # trained before the batches are watched
    asked = []
    draw = BatchSampler.__call__

    def recording(self, as_written=False):
        asked.append(as_written)
        return draw(self, as_written)

    monkeypatch.setattr(BatchSampler, "__call__", recording)
    cfg = dict(TINY_MLE, steps=1, batch_size=4, init_from=str(tiny_mle_run), adv_weight=1.0, critic="sounding",
               d_steps=2, critic_transposed=transposed, silence_charge=0.5, log_every=1)
    if keys:
        cfg["window_critic_init"] = key_source
    train(small_data, tmp_path / "run", config_from_dict(cfg), progress=False)
    # the critic's two batches (d_steps = 2) as written unless transposed; the critic of keys' as written (its own
    # batch when the critic's are transposed); then the likelihood term's, transposed
    window = [True] if keys and transposed else []
    assert asked == [not transposed, not transposed] + window + [False]
