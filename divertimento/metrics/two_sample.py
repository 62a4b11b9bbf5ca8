"""The classifier two-sample test (Lopez-Paz & Oquab, ICLR 2017): train a classifier to tell two sets apart and
score it on windows it did not see. Held-out accuracy 0.5 means the sets cannot be told apart by that classifier;
1.0 means they always can. Unlike a distance between summary statistics, it sees any difference the classifier can
learn, including ones between combinations of descriptors."""

import numpy as np

FOLDS = 2  # each window is scored by a classifier that was trained on the other half
MAX_PER_SET = 2000  # windows per set; the test is balanced, so both sets are cut to the smaller size


def classifier_two_sample(x_real: np.ndarray, x_gen: np.ndarray, seed: int = 0) -> float:
    """Cross-validated accuracy of a gradient-boosted tree classifier between the rows of ``x_real`` and
    ``x_gen`` (feature vectors; NaN = missing), on equal numbers of each. NaN when either set has fewer than 10."""
    # Imported here: scikit-learn takes about 2 s to import and only evaluations that ask for this metric need it
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(seed)
    n = min(len(x_real), len(x_gen), MAX_PER_SET)
    if n < 10:
        return float("nan")
    x = np.concatenate([x_real[rng.choice(len(x_real), n, replace=False)],
                        x_gen[rng.choice(len(x_gen), n, replace=False)]])
    y = np.r_[np.ones(n), np.zeros(n)]
    fold = rng.permutation(np.arange(2 * n) % FOLDS)
    correct = 0
    for k in range(FOLDS):
        clf = HistGradientBoostingClassifier(max_iter=100, random_state=seed)
        clf.fit(x[fold != k], y[fold != k])
        correct += int((clf.predict(x[fold == k]) == y[fold == k]).sum())
    return correct / (2 * n)
