"""Non-adversarial baselines trained on the same data, by the same kind of harness, as the GAN.

- ``vae``: a variational auto-encoder whose decoder *is* the GAN's Generator (same architecture, same z, same
  style conditioning), trained on the ELBO with a categorical likelihood per voice and step. Its model file is a
  GAN-compatible model file: ``divertimento generate --model`` and ``sample.generate.generate_tokens`` sample it.
- ``ar``: an autoregressive maximum-likelihood model (LSTM over steps; within a step, voice by voice), the
  non-adversarial reference. Sampled by ``baselines.sample.load_model(...).generate_tokens``.

Both write a run dir like the GAN trainer: config.json, stats.jsonl (+ TensorBoard), model.safetensors,
summary.json (with ``elapsed_s``), samples/final.png.

Import the submodules directly (``baselines.vae``, ``baselines.train``, ...): the GAN's loss uses ``vae``'s ELBO
terms, so this package must not import the trainers at import time (that would be a cycle).
"""
