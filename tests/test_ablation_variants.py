"""Ablation variants: the shipped variant files resolve, each tool variant is vanilla plus exactly its tool."""

import json
from pathlib import Path

import pytest

from divertimento.ablation.variants import RUN_KEYS, load_variants, select_variants
from divertimento.config import TrainConfig, config_from_dict
from divertimento.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
TOOLS = {"vanilla+ms": {"ms_weight"}, "vanilla+mbstd": {"mbstd_group"}, "vanilla+pack2": {"pack"},
         "vanilla+r1": {"r1_gamma"}, "vanilla+sn": {"spectral_norm"}, "vanilla+ema": {"ema_kimg"},
         "vanilla+cond": {"conditional"}}


def test_shipped_variants():
    v = load_variants()
    assert list(v) == ["vanilla", *TOOLS, "default", "default+keys", "default+keys+vae", "vae", "ar"]
    vanilla = v["vanilla"].build_config({"steps": 10, "seed": 3})
    assert isinstance(vanilla, TrainConfig) and vanilla.steps == 10 and vanilla.seed == 3
    # the seed's objective and no diversity tool at all
    assert vanilla.loss == "nonsat" and not vanilla.conditional and vanilla.mbstd_group == 0
    assert vanilla.ema_kimg == 0 and vanilla.r1_gamma == 0 and vanilla.ms_weight == 0 and vanilla.pack == 1
    assert not vanilla.spectral_norm
    base = vanilla.to_dict()
    for name, keys in TOOLS.items():
        cfg = v[name].build_config({"steps": 10, "seed": 3}).to_dict()
        assert {k for k in cfg if cfg[k] != base[k]} == keys, name
    # default = configs/gan-base.json as `divertimento train --config configs/gan-base.json` reads it
    shipped = json.loads((ROOT / "configs" / "gan-base.json").read_text())
    want = config_from_dict(dict(shipped, steps=10, seed=3)).to_dict()
    got = v["default"].build_config({"steps": 10, "seed": 3, "threads": shipped.get("threads", 0),
                                     "log_every": shipped["log_every"], "sample_every": shipped["sample_every"],
                                     "ckpt_every": shipped["ckpt_every"]}).to_dict()
    assert got == want
    assert not set(RUN_KEYS) & set(v["default"].config)
    # the shipped model's ingredients, each added to the default alone
    keys = v["default+keys"].build_config({"steps": 10, "seed": 3}).to_dict()
    vae = v["default+keys+vae"].build_config({"steps": 10, "seed": 3}).to_dict()
    plain = v["default"].build_config({"steps": 10, "seed": 3}).to_dict()
    assert {k for k in keys if keys[k] != plain[k]} == {"key_normalise"} and keys["key_normalise"]
    assert {k for k in vae if vae[k] != keys[k]} == {"recon_weight"} and vae["recon_weight"] == 1.0
    for name, family in (("vae", "vae"), ("ar", "mle")):
        cfg = v[name].build_config({"steps": 5}, {"batch_size": 16})
        assert cfg.family == family and cfg.batch_size == 16 and cfg.steps == 5 and cfg.beta1 == 0.9


def test_select_variants():
    v = load_variants()
    assert [x.name for x in select_variants(v, "ar,vanilla")] == ["vanilla", "ar"]  # table order
    assert len(select_variants(v, None)) == len(v)
    with pytest.raises(UserError, match="unknown variant"):
        select_variants(v, "vanilla,nope")


def test_variant_files_are_validated(tmp_path):
    (tmp_path / "a.json").write_text('{"family": "gan", "base": "b", "config": {}}')
    (tmp_path / "b.json").write_text('{"family": "gan", "base": "a", "config": {}}')
    with pytest.raises(UserError, match="cycle"):
        load_variants(tmp_path)
    (tmp_path / "b.json").write_text('{"family": "gan", "config": {"ms_weigth": 1}}')
    with pytest.raises(UserError, match="ms_weigth"):
        load_variants(tmp_path)
    (tmp_path / "b.json").write_text('{"family": "gan", "config": {}, "extra": 1}')
    with pytest.raises(UserError, match="extra"):
        load_variants(tmp_path)
    (tmp_path / "b.json").write_text('{"family": "vae", "config": {}}')
    with pytest.raises(UserError, match="cannot be based"):
        load_variants(tmp_path)
    with pytest.raises(UserError, match="no variant directory"):
        load_variants(tmp_path / "missing")
