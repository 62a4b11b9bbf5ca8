"""The ablation: does adversarial training, and does each diversity tool, earn its keep?

Every variant (a vanilla unconditional GAN, the vanilla GAN plus one tool, the full default, a VAE and an
autoregressive MLE model) is trained on the same data with the same step (or wall-clock) budget and seeds,
sampled the same way, and evaluated by the evaluation suite against the data's held-out split, next to a
calibration row of real held-out windows. ``divertimento ablate`` is the command; docs/ablation.md the manual.
"""

from .runner import AblationSettings, run_ablation
from .variants import Variant, load_variants, select_variants

__all__ = ["AblationSettings", "run_ablation", "Variant", "load_variants", "select_variants"]
